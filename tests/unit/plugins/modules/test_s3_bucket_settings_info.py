# -*- coding: utf-8 -*-
"""s3_bucket_settings_info: one S3 request per setting, a setting not set read as empty, no ListBuckets."""

import json

from ansible_collections.nixl_efa.cluster.plugins.modules import s3_bucket_settings_info as module

BUCKET = {"Bucket": "demo-bucket"}
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::demo-bucket/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}
RULE = {"ID": "expire", "Filter": {"Prefix": "i-"}, "Status": "Enabled", "Expiration": {"Days": 1}}


def all_settings(s3):
    s3.stub.add_response("get_bucket_tagging", {"TagSet": [{"Key": "nixl-efa:cluster", "Value": "demo"}]}, BUCKET)
    s3.stub.add_response(
        "get_bucket_encryption",
        {
            "ServerSideEncryptionConfiguration": {
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]
            }
        },
        BUCKET,
    )
    block = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    s3.stub.add_response("get_public_access_block", {"PublicAccessBlockConfiguration": block}, BUCKET)
    s3.stub.add_response(
        "get_bucket_ownership_controls",
        {"OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}},
        BUCKET,
    )
    s3.stub.add_response("get_bucket_policy", {"Policy": json.dumps(POLICY)}, BUCKET)
    s3.stub.add_response("get_bucket_lifecycle_configuration", {"Rules": [RULE]}, BUCKET)


def test_reads_each_setting_once_in_its_own_shape(s3, run_module):
    all_settings(s3)
    result = run_module(module, {"name": "demo-bucket"})
    assert result["changed"] is False and not result["failed"]
    assert result["bucket"] == {
        "name": "demo-bucket",
        "exists": True,
        "tags": {"nixl-efa:cluster": "demo"},
        "encryption": {"sse_algorithm": "AES256", "kms_master_key_id": None, "bucket_key_enabled": False},
        "public_access_block": {
            "block_public_acls": True,
            "ignore_public_acls": True,
            "block_public_policy": True,
            "restrict_public_buckets": True,
        },
        "object_ownership": "BucketOwnerEnforced",
        "policy": POLICY,
        "lifecycle_rules": [RULE],
    }
    assert "ListBuckets" not in s3.calls() and len(s3.calls()) == 6


def test_settings_not_set_read_as_empty(s3, run_module):
    for operation, code in [
        ("get_bucket_tagging", "NoSuchTagSet"),
        ("get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError"),
        ("get_public_access_block", "NoSuchPublicAccessBlockConfiguration"),
        ("get_bucket_ownership_controls", "OwnershipControlsNotFoundError"),
        ("get_bucket_policy", "NoSuchBucketPolicy"),
        ("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration"),
    ]:
        s3.stub.add_client_error(operation, code, "not set", 404, expected_params=BUCKET)
    bucket = run_module(module, {"name": "demo-bucket"})["bucket"]
    assert bucket == {
        "name": "demo-bucket",
        "exists": True,
        "tags": {},
        "encryption": None,
        "public_access_block": None,
        "object_ownership": None,
        "policy": None,
        "lifecycle_rules": [],
    }


def test_a_missing_bucket_stops_at_the_first_request(s3, run_module):
    s3.stub.add_client_error(
        "get_bucket_tagging", "NoSuchBucket", "The specified bucket does not exist", 404, expected_params=BUCKET
    )
    assert run_module(module, {"name": "demo-bucket"})["bucket"] == {"name": "demo-bucket", "exists": False}
    assert s3.calls() == ["GetBucketTagging"]


def test_a_bucket_that_answers_the_first_request_with_its_own_error_exists_unread(s3, run_module):
    # Another account's bucket of the same name: it exists, and it is not this cluster's to change.
    s3.stub.add_client_error("get_bucket_tagging", "AccessDenied", "Access Denied", 403, expected_params=BUCKET)
    bucket = run_module(module, {"name": "demo-bucket"})["bucket"]
    assert bucket == {"name": "demo-bucket", "exists": True, "error": "AccessDenied"}


def test_a_later_error_fails_naming_the_bucket(s3, run_module):
    s3.stub.add_response("get_bucket_tagging", {"TagSet": []}, BUCKET)
    s3.stub.add_client_error("get_bucket_encryption", "AccessDenied", "Access Denied", 403, expected_params=BUCKET)
    result = run_module(module, {"name": "demo-bucket", "settings": ["tags", "encryption"]})
    assert result["failed"] is True
    assert result["msg"].startswith("Could not read the settings of bucket demo-bucket")


def test_only_the_settings_asked_for(s3, run_module):
    s3.stub.add_response("get_bucket_tagging", {"TagSet": []}, BUCKET)
    assert run_module(module, {"name": "demo-bucket", "settings": ["tags"]})["bucket"] == {
        "name": "demo-bucket",
        "exists": True,
        "tags": {},
    }
    s3.stub.add_client_error("head_bucket", "404", "Not Found", 404, expected_params=BUCKET)
    assert run_module(module, {"name": "demo-bucket", "settings": []})["bucket"] == {
        "name": "demo-bucket",
        "exists": False,
    }
    s3.stub.add_response("head_bucket", {}, BUCKET)
    assert run_module(module, {"name": "demo-bucket", "settings": []})["bucket"] == {
        "name": "demo-bucket",
        "exists": True,
    }


def test_throttling_is_retried(s3, run_module):
    s3.throttle("get_bucket_tagging")
    s3.stub.add_response("get_bucket_tagging", {"TagSet": []}, BUCKET)
    assert run_module(module, {"name": "demo-bucket", "settings": ["tags"]})["bucket"]["tags"] == {}
    assert s3.calls() == ["GetBucketTagging"] * 3


def test_another_error_on_the_first_request_fails(s3, run_module):
    s3.stub.add_client_error(
        "get_bucket_tagging", "InternalError", "We encountered an internal error", 500, expected_params=BUCKET
    )
    result = run_module(module, {"name": "demo-bucket", "settings": ["tags"]})
    assert result["failed"] is True and "demo-bucket" in result["msg"]
