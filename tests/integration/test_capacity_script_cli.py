# -*- coding: utf-8 -*-
"""The old system's capacity block script, replayed through the AWS CLI v1 against the lab.

The system this collection replaces managed EC2 Capacity Blocks with a shell script,
manage-capacity-block.sh (GitHub littlemex/samples,
aws-neuron/torch-neuronx/multi-framework-dlami-ubuntu24-cdk/scripts/). Its commands search,
purchase, list, describe, cancel, save-params and load-params are `aws ec2` and `aws ssm` calls
around prompts and jq. These tests do not run or copy the script: they make the same CLI calls,
with the same options (--region, --filters, --query, --output json or text, put-parameter's
--type String --overwrite), in the script's order, with the `aws` executable of this venv and
AWS_ENDPOINT_URL set to a fresh lab, and they check what AWS answers, not only exit codes:

- search: offerings of the requested type, count and duration, with the fields the script shows,
  also with the start and end date range the script sends for --start-time;
- purchase: a capacity-block reservation in the offering's zone and dates, and a subnet of that
  zone found the way the script finds one;
- list and describe: the reservation with the fields the script shows;
- cancel: AWS's refusal of a capacity block, a client error (UnsupportedOperation) with a message
  and the CLI's error exit status, not the HTML 500 page the lab answered before; the block stays;
- save-params and load-params: reservation-id and subnet-id under /capacity-block/{region}/ in
  Parameter Store, written, overwritten and read back as the script reads them. On a fresh
  account the script's own save-params stops at its first get-parameter (ParameterNotFound
  under `set -e`): a bug of the old script, shown here as AWS's answer.
"""

import datetime
import json
import os
import pathlib
import subprocess
import sys

import pytest

AWS = pathlib.Path(sys.executable).parent / "aws"
REGION = "us-east-1"
TYPE = "p5.48xlarge"
COUNT = "2"
HOURS = "24"
PREFIX = "/capacity-block"
# What the script shows of each offering, reservation (list) and reservation (describe).
OFFERING_FIELDS = {"CapacityBlockOfferingId", "StartDate", "EndDate", "CapacityBlockDurationHours",
                   "AvailabilityZone", "InstanceType", "InstanceCount", "UpfrontFee", "CurrencyCode",
                   "Tenancy"}  # fmt: skip
LIST_FIELDS = {"CapacityReservationId", "State", "InstanceType", "TotalInstanceCount", "AvailableInstanceCount",
               "AvailabilityZone", "StartDate", "EndDate", "CreateDate"}  # fmt: skip
DESCRIBE_FIELDS = LIST_FIELDS | {"CapacityReservationArn", "InstanceMatchCriteria", "InstancePlatform", "Tenancy",
                                 "EndDateType", "Tags"}  # fmt: skip


@pytest.fixture
def aws(lab_aws, tmp_path):
    """Run `aws ARGS...` as the script does, against the lab; returns the finished process."""
    assert AWS.exists(), f"{AWS} is missing: the AWS CLI v1 (awscli) comes with requirements.txt"
    env = dict(os.environ, AWS_ENDPOINT_URL=lab_aws, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION=REGION, AWS_CONFIG_FILE=str(tmp_path / "no-config"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"))  # fmt: skip
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_SESSION_TOKEN", "AWS_DEFAULT_OUTPUT"):
        env.pop(name, None)

    def run(*args):
        return subprocess.run([str(AWS), *args], env=env, capture_output=True, text=True, timeout=120, check=False)

    return run


def _ok(result):
    assert result.returncode == 0, f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _json(result):
    return json.loads(_ok(result))


def _time(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _search(aws, *extra):
    # search: aws ec2 describe-capacity-block-offerings ... --output json
    return _json(aws("ec2", "describe-capacity-block-offerings", "--instance-type", TYPE, "--instance-count", COUNT,
                     "--capacity-duration-hours", HOURS, "--region", REGION, *extra, "--output", "json"))  # fmt: skip


def _get_parameter(aws, name):
    # save-params (its check) and load-params: aws ssm get-parameter ... --query 'Parameter.Value' --output text
    return aws("ssm", "get-parameter", "--name", f"{PREFIX}/{REGION}/{name}", "--region", REGION,
               "--query", "Parameter.Value", "--output", "text")  # fmt: skip


def _put_parameter(aws, name, value):
    # save-params: aws ssm put-parameter ... --type String --overwrite (the script sends its output to /dev/null)
    return _json(aws("ssm", "put-parameter", "--name", f"{PREFIX}/{REGION}/{name}", "--value", value,
                     "--type", "String", "--region", REGION, "--overwrite"))  # fmt: skip


def _describe(aws, reservation_id):
    # describe: aws ec2 describe-capacity-reservations --capacity-reservation-ids ID --output json
    return _json(aws("ec2", "describe-capacity-reservations", "--capacity-reservation-ids", reservation_id,
                     "--region", REGION, "--output", "json"))["CapacityReservations"]  # fmt: skip


def test_the_scripts_calls_in_its_order(aws):
    # search
    offerings = _search(aws)["CapacityBlockOfferings"]
    assert offerings, "the lab offers no capacity block for an EFA type"
    for offering in offerings:
        assert set(offering) >= OFFERING_FIELDS, offering
        assert (offering["InstanceType"], offering["InstanceCount"]) == (TYPE, int(COUNT))
        assert offering["CapacityBlockDurationHours"] == int(HOURS)
        assert _time(offering["EndDate"]) - _time(offering["StartDate"]) == datetime.timedelta(hours=int(HOURS))
        assert offering["AvailabilityZone"].startswith(REGION)
        assert offering["CapacityBlockOfferingId"].startswith("cb-")
        assert float(offering["UpfrontFee"]) > 0 and offering["CurrencyCode"] == "USD"
    offering = offerings[0]

    # purchase: aws ec2 purchase-capacity-block ... --instance-platform Linux/UNIX --output json
    bought = _json(aws("ec2", "purchase-capacity-block", "--capacity-block-offering-id",
                       offering["CapacityBlockOfferingId"], "--instance-platform", "Linux/UNIX", "--region", REGION,
                       "--output", "json"))["CapacityReservation"]  # fmt: skip
    reservation_id = bought["CapacityReservationId"]
    zone = bought["AvailabilityZone"]
    assert reservation_id.startswith("cr-")
    assert zone == offering["AvailabilityZone"]
    assert bought["ReservationType"] == "capacity-block" and bought["CapacityBlockId"].startswith("cb-")
    assert (bought["InstanceType"], bought["TotalInstanceCount"]) == (TYPE, int(COUNT))
    assert (bought["StartDate"], bought["EndDate"]) == (offering["StartDate"], offering["EndDate"])
    assert bought["InstancePlatform"] == "Linux/UNIX"
    # ... and the first subnet of the block's zone, as the script detects it for save-params.
    subnet_id = _ok(aws("ec2", "describe-subnets", "--region", REGION, "--filters",
                        f"Name=availability-zone,Values={zone}", "--query", "Subnets[0].SubnetId",
                        "--output", "text")).strip()  # fmt: skip
    assert subnet_id.startswith("subnet-"), subnet_id
    subnet_zone = _ok(aws("ec2", "describe-subnets", "--subnet-ids", subnet_id, "--region", REGION,
                          "--query", "Subnets[0].AvailabilityZone", "--output", "text")).strip()  # fmt: skip
    assert subnet_zone == zone

    # list: aws ec2 describe-capacity-reservations --filters Name=instance-type,Values=TYPE --output json
    listed = _json(aws("ec2", "describe-capacity-reservations", "--region", REGION, "--filters",
                       f"Name=instance-type,Values={TYPE}", "--output", "json"))["CapacityReservations"]  # fmt: skip
    assert all(r["InstanceType"] == TYPE for r in listed)
    (mine,) = [r for r in listed if r["CapacityReservationId"] == reservation_id]
    assert set(mine) >= LIST_FIELDS, mine
    assert mine["State"] in ("scheduled", "active")

    # describe
    (described,) = _describe(aws, reservation_id)
    assert set(described) >= DESCRIBE_FIELDS, described
    assert described["CapacityReservationArn"].endswith(f":capacity-reservation/{reservation_id}")
    assert (described["AvailabilityZone"], described["EndDateType"]) == (zone, "limited")
    assert described["InstanceMatchCriteria"] == "targeted" and described["Tenancy"] == "default"

    # cancel: aws ec2 cancel-capacity-reservation --capacity-reservation-id ID --output json
    # AWS: a Capacity Block cannot be cancelled. A client error with its code and message, not a 500 page.
    cancel = aws("ec2", "cancel-capacity-reservation", "--capacity-reservation-id", reservation_id,
                 "--region", REGION, "--output", "json")  # fmt: skip
    assert cancel.returncode in (254, 255), cancel
    assert cancel.stdout == ""
    assert "An error occurred (UnsupportedOperation) when calling the CancelCapacityReservation operation" in (
        cancel.stderr
    )
    assert f"'{reservation_id}' is a Capacity Block" in cancel.stderr
    assert "cannot be cancelled" in cancel.stderr
    assert "<html" not in cancel.stderr.lower() and "(500)" not in cancel.stderr, cancel.stderr
    (after,) = _describe(aws, reservation_id)
    assert after["State"] == described["State"] != "cancelled"

    # save-params: first its two checks. A fresh account has no parameters: AWS answers a client
    # error, not an empty value, and the script (under `set -e`) stops there; then both values written.
    for name in ("reservation-id", "subnet-id"):
        fresh = _get_parameter(aws, name)
        assert fresh.returncode in (254, 255), fresh
        assert "(ParameterNotFound)" in fresh.stderr and fresh.stdout == ""
    assert _put_parameter(aws, "reservation-id", reservation_id)["Version"] == 1
    assert _put_parameter(aws, "subnet-id", subnet_id)["Version"] == 1
    # load-params
    assert _ok(_get_parameter(aws, "reservation-id")).strip() == reservation_id
    assert _ok(_get_parameter(aws, "subnet-id")).strip() == subnet_id
    # save-params again: its checks now find the values (as load-params did), and --overwrite replaces them
    assert _put_parameter(aws, "reservation-id", reservation_id)["Version"] == 2
    assert _put_parameter(aws, "subnet-id", subnet_id)["Version"] == 2
    assert _ok(_get_parameter(aws, "subnet-id")).strip() == subnet_id


def test_search_with_the_scripts_start_time(aws):
    """search --start-time: the script sends --start-date-range START --end-date-range START + duration."""
    for _attempt in range(2):  # the hour may turn between the two lines below
        start = datetime.datetime.now(datetime.timezone.utc).replace(minute=0, second=0, microsecond=0)
        end = start + datetime.timedelta(hours=int(HOURS))
        offerings = _search(aws, "--start-date-range", f"{start:%Y-%m-%dT%H:%M:%SZ}",
                            "--end-date-range", f"{end:%Y-%m-%dT%H:%M:%SZ}")["CapacityBlockOfferings"]  # fmt: skip
        if offerings:
            break
    assert offerings
    for offering in offerings:
        assert _time(offering["StartDate"]) >= start and _time(offering["EndDate"]) <= end
        assert (offering["InstanceType"], offering["InstanceCount"]) == (TYPE, int(COUNT))


def test_cancel_an_unknown_reservation(aws):
    cancel = aws("ec2", "cancel-capacity-reservation", "--capacity-reservation-id", "cr-0123456789abcdef0",
                 "--region", REGION, "--output", "json")  # fmt: skip
    assert cancel.returncode in (254, 255), cancel
    assert "(InvalidCapacityReservationId.NotFound)" in cancel.stderr
    assert "cr-0123456789abcdef0" in cancel.stderr


def test_import_params_takes_the_scripts_entries_for_a_cluster(aws, lab_aws, ansible_playbook):
    """capacity_block.yml -e action=import-params: the script's /capacity-block/<region>/ entries, saved for a cluster.

    In a region of its own (us-west-2), so the script's entries of the test above stay as they are.
    """
    region, cluster = "us-west-2", "imported"
    offering = _json(aws("ec2", "describe-capacity-block-offerings", "--instance-type", TYPE, "--instance-count", COUNT,
                         "--capacity-duration-hours", HOURS, "--region", region,
                         "--output", "json"))["CapacityBlockOfferings"][0]  # fmt: skip
    bought = _json(aws("ec2", "purchase-capacity-block", "--capacity-block-offering-id",
                       offering["CapacityBlockOfferingId"], "--instance-platform", "Linux/UNIX", "--region", region,
                       "--output", "json"))["CapacityReservation"]  # fmt: skip
    settings = {"action": "import-params", "cluster_name": cluster, "cluster_region": region, "cluster_local_aws": True}

    # Nothing saved by the script yet: refused, nothing written.
    ansible_playbook("playbooks/capacity_block.yml", lab_aws, settings, expect_rc=2)

    def put(name, value):
        return _json(aws("ssm", "put-parameter", "--name", f"{PREFIX}/{region}/{name}", "--value", value,
                         "--type", "String", "--region", region, "--overwrite"))  # fmt: skip

    # A stale reservation id (another account's, or long gone): refused naming it, nothing written.
    put("reservation-id", "cr-0123456789abcdef0")
    stale = ansible_playbook("playbooks/capacity_block.yml", lab_aws, settings, expect_rc=2)
    assert "cr-0123456789abcdef0 (from /capacity-block/us-west-2) was not found" in " ".join(stale.stdout.split())

    put("reservation-id", bought["CapacityReservationId"])
    put("subnet-id", "subnet-0abc12345")
    done = ansible_playbook("playbooks/capacity_block.yml", lab_aws, settings)
    said = " ".join(done.stdout.split())
    reservation_id = bought["CapacityReservationId"]
    assert f"Imported /capacity-block/{region} into /nixl-efa/{cluster}: reservation-id={reservation_id}" in said

    def value(name):
        return _ok(aws("ssm", "get-parameter", "--name", name, "--region", region,
                       "--query", "Parameter.Value", "--output", "text")).strip()  # fmt: skip

    assert value(f"/nixl-efa/{cluster}/reservation-id") == bought["CapacityReservationId"]
    assert value(f"/nixl-efa/{cluster}/subnet-id") == "subnet-0abc12345"
    tags = _json(aws("ssm", "list-tags-for-resource", "--resource-type", "Parameter", "--resource-id",
                     f"/nixl-efa/{cluster}/reservation-id", "--region", region,
                     "--output", "json"))["TagList"]  # fmt: skip
    assert {"Key": "nixl-efa:cluster", "Value": cluster} in tags
    # The script's own entries are read, never changed (still the versions it wrote).
    old = _json(aws("ssm", "get-parameter", "--name", f"{PREFIX}/{region}/reservation-id", "--region", region,
                    "--output", "json"))["Parameter"]  # fmt: skip
    assert old["Version"] == 2 and old["Value"] == bought["CapacityReservationId"]
    # Again: nothing changes.
    again = ansible_playbook("playbooks/capacity_block.yml", lab_aws, settings)
    assert again.recap["changed"] == 0, again.stdout[-3000:]
