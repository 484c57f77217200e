# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Amazon EventBridge Scheduler calls of the expiry_schedule module.

Each call backs off on throttling (AWSRetry jittered backoff) and turns botocore errors into AnsibleAWSError with
a message saying what was being done, the amazon.aws way; a missing group or schedule reads as None. The pure
rules (deadline, extension, input, comparison) are in expiry_schedule.
"""

import random
import time

try:
    import botocore
    from botocore.waiter import WaiterModel
    from botocore.waiter import create_waiter_with_client
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.nixl_efa.cluster.plugins.module_utils.expiry_schedule import GROUP_DELETED_WAITER

# A role created moments ago may not yet be assumable by EventBridge Scheduler (IAM is eventually consistent):
# CreateSchedule and UpdateSchedule then answer ValidationException naming the execution role. Those, and only
# those, are tried again for up to ROLE_PROPAGATION_SECONDS; no waiter exists for IAM's propagation.
ROLE_PROPAGATION_SECONDS = 90
# EventBridge Scheduler's throttling answer (HTTP 429), which amazon.aws's AWSRetry does not retry by itself.
RETRY_CODES = ["ThrottlingException"]
retry = AWSRetry.jittered_backoff(catch_extra_error_codes=RETRY_CODES)


class SchedulerErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleAWSError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("ResourceNotFoundException")


def _error_code(error):
    return error.response.get("Error", {}).get("Code", "") if hasattr(error, "response") else ""


def role_not_yet_assumable(error):
    """Whether a ClientError is EventBridge Scheduler refusing an execution role it cannot (yet) assume."""
    if _error_code(error) != "ValidationException":
        return False
    message = str(error.response.get("Error", {}).get("Message", "")).lower()
    return "role" in message and "assume" in message


def _with_role_propagation(call, what, sleep=None, clock=None, limit=ROLE_PROPAGATION_SECONDS):
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    deadline = clock() + limit
    delay = 2.0
    while True:
        try:
            return call()
        except botocore.exceptions.ClientError as e:
            if not role_not_yet_assumable(e) or clock() >= deadline:
                if role_not_yet_assumable(e):
                    raise AnsibleAWSError(
                        message=f"Failed to {what}: EventBridge Scheduler still cannot assume the execution role after "
                        f"{limit} s; check its trust policy (scheduler.amazonaws.com, aws:SourceAccount)",
                        exception=e,
                    ) from e
                raise AnsibleAWSError(message=f"Failed to {what}", exception=e) from e
        except botocore.exceptions.BotoCoreError as e:
            raise AnsibleAWSError(message=f"Failed to {what}", exception=e) from e
        sleep(random.uniform(delay / 2, delay))
        delay = min(delay * 2, 30.0)


# Schedule groups ---------------------------------------------------------------


@SchedulerErrorHandler.list_error_handler("get schedule group", None)
@retry
def get_group(client, name):
    """The group (Arn, Name, State, CreationDate, ...), or None when there is none of that name."""
    answer = client.get_schedule_group(Name=name)
    answer.pop("ResponseMetadata", None)
    return answer


@SchedulerErrorHandler.list_error_handler("list schedule group tags", None)
@retry
def group_tags(client, arn):
    """The group's tags as a dict (tags live on schedule groups, not on schedules); None when it is gone."""
    return boto3_tag_list_to_ansible_dict(client.list_tags_for_resource(ResourceArn=arn).get("Tags") or [])


@SchedulerErrorHandler.common_error_handler("create schedule group")
@retry
def create_group(client, name, tags):
    return client.create_schedule_group(Name=name, Tags=ansible_dict_to_boto3_tag_list(tags))["ScheduleGroupArn"]


@SchedulerErrorHandler.common_error_handler("tag schedule group")
@retry
def tag_group(client, arn, tags):
    client.tag_resource(ResourceArn=arn, Tags=ansible_dict_to_boto3_tag_list(tags))
    return True


@SchedulerErrorHandler.common_error_handler("untag schedule group")
@retry
def untag_group(client, arn, keys):
    client.untag_resource(ResourceArn=arn, TagKeys=list(keys))
    return True


@SchedulerErrorHandler.deletion_error_handler("delete schedule group")
@retry
def delete_group(client, name):
    client.delete_schedule_group(Name=name)
    return True


def wait_group_deleted(client, name, timeout):
    """Wait (botocore waiter, GROUP_DELETED_WAITER) until a DELETING group is gone, at most `timeout` seconds."""
    config = GROUP_DELETED_WAITER["waiters"]["ScheduleGroupDeleted"]
    delay = config["delay"]
    model = WaiterModel(
        dict(GROUP_DELETED_WAITER, waiters={"ScheduleGroupDeleted": dict(config, maxAttempts=max(1, timeout // delay))})
    )
    waiter = create_waiter_with_client("ScheduleGroupDeleted", model, client)
    try:
        waiter.wait(Name=name)
    except botocore.exceptions.WaiterError as e:
        raise AnsibleAWSError(
            message=f"Schedule group {name} is still being deleted after {timeout} s; run again later", exception=e
        ) from e


# Schedules -----------------------------------------------------------------------


@SchedulerErrorHandler.list_error_handler("get schedule", None)
@retry
def get_schedule(client, group, name):
    """The schedule as GetSchedule answers it, or None when there is none of that name in the group."""
    answer = client.get_schedule(GroupName=group, Name=name)
    answer.pop("ResponseMetadata", None)
    return answer


def create_schedule(client, request, sleep=None):
    call = retry(lambda: client.create_schedule(**request))
    return _with_role_propagation(call, "create schedule", sleep=sleep)["ScheduleArn"]


def update_schedule(client, request, sleep=None):
    call = retry(lambda: client.update_schedule(**request))
    return _with_role_propagation(call, "update schedule", sleep=sleep)["ScheduleArn"]


@SchedulerErrorHandler.deletion_error_handler("delete schedule")
@retry
def delete_schedule(client, group, name):
    client.delete_schedule(GroupName=group, Name=name)
    return True
