# -*- coding: utf-8 -*-
"""The guard's rules: lab settings need a loopback endpoint, a real inventory refuses one, each rule named alone."""

import pytest

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils import aws_target

LAB = "http://127.0.0.1:5055"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:5055", "http://127.9.8.7", "https://localhost:4566/", "http://[::1]:5055", " http://127.0.0.1 "],
)
def test_loopback_urls(url):
    assert aws_target.is_loopback_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://ec2.us-east-1.amazonaws.com",
        "http://10.0.0.5:5055",
        "http://127.0.0.1.example.com",
        "ftp://127.0.0.1",
        "127.0.0.1:5055",
        "http://[::1",
        "http://0.0.0.0:5055",
    ],
)
def test_not_loopback_urls(url):
    assert not aws_target.is_loopback_url(url)


def test_lab_with_its_endpoint_passes():
    assert aws_target.aws_target_problems({"AWS_ENDPOINT_URL": LAB}, local_aws=True, require_tls=False) == []


def test_real_account_without_endpoint_passes():
    assert aws_target.aws_target_problems({"HOME": "/root"}, local_aws=False, require_tls=True) == []


def test_real_account_with_its_own_endpoint_passes():
    """A non-loopback endpoint (a FIPS or VPC endpoint URL) is the user's choice on a real account."""
    environ = {"AWS_ENDPOINT_URL_EC2": "https://ec2-fips.us-east-1.amazonaws.com"}
    assert aws_target.aws_target_problems(environ) == []


def test_lab_without_endpoint_names_aws_endpoint_url_only():
    (problem,) = aws_target.aws_target_problems({}, local_aws=True, require_tls=False)
    assert problem.startswith("cluster_local_aws is true")
    assert "AWS_ENDPOINT_URL is not set" in problem and "make lab-up" in problem
    assert "cluster_require_tls" not in problem


def test_lab_with_a_real_endpoint_names_it():
    environ = {"AWS_ENDPOINT_URL": "https://ec2.us-east-1.amazonaws.com"}
    (problem,) = aws_target.aws_target_problems(environ, local_aws=True)
    assert "AWS_ENDPOINT_URL is 'https://ec2.us-east-1.amazonaws.com', not a loopback URL" in problem


def test_lab_with_a_service_endpoint_elsewhere_names_that_variable():
    environ = {"AWS_ENDPOINT_URL": LAB, "AWS_ENDPOINT_URL_S3": "https://s3.amazonaws.com"}
    (problem,) = aws_target.aws_target_problems(environ, local_aws=True)
    assert "AWS_ENDPOINT_URL_S3 is 'https://s3.amazonaws.com'" in problem


def test_real_inventory_with_the_lab_exports_is_refused():
    (problem,) = aws_target.aws_target_problems({"AWS_ENDPOINT_URL": LAB}, local_aws=False)
    assert problem.startswith(f"AWS_ENDPOINT_URL is '{LAB}', a loopback address")
    assert "cluster_local_aws is not set" in problem and "-i inventories/lab" in problem


def test_real_inventory_with_a_loopback_service_endpoint_is_refused():
    (problem,) = aws_target.aws_target_problems({"AWS_ENDPOINT_URL_SSM": "http://localhost:5055"})
    assert problem.startswith("AWS_ENDPOINT_URL_SSM is 'http://localhost:5055'")


def test_lab_only_tls_setting_is_refused_on_a_real_account_alone():
    (problem,) = aws_target.aws_target_problems({}, local_aws=False, require_tls=False)
    assert problem.startswith("cluster_require_tls is false")
    assert "AWS_ENDPOINT_URL" not in problem


def test_each_broken_rule_is_one_message():
    problems = aws_target.aws_target_problems({"AWS_ENDPOINT_URL": LAB}, local_aws=False, require_tls=False)
    assert [p.split(" ", 1)[0] for p in problems] == ["AWS_ENDPOINT_URL", "cluster_require_tls"]


def test_blank_variables_count_as_unset():
    assert aws_target.endpoints({"AWS_ENDPOINT_URL": "  ", "AWS_ENDPOINT_URL_EC2": LAB}) == {
        "AWS_ENDPOINT_URL_EC2": LAB
    }


def test_lab_endpoint_answers_only_loopback():
    assert aws_target.lab_endpoint({"AWS_ENDPOINT_URL": LAB}) == LAB
    with pytest.raises(ValueError, match="AWS_ENDPOINT_URL is not set: nothing was asked of AWS"):
        aws_target.lab_endpoint({})
    with pytest.raises(ValueError, match="'https://ec2.us-east-1.amazonaws.com', not a loopback URL"):
        aws_target.lab_endpoint({"AWS_ENDPOINT_URL": "https://ec2.us-east-1.amazonaws.com"})
