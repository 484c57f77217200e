# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""EC2 calls shared by this collection's modules.

Each call backs off on throttling (AWSRetry jittered backoff), pages through
results with botocore's paginators, and turns botocore errors into
AnsibleEC2Error with a message saying what was being done, the amazon.aws way.
"""

import random
import time

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.ec2 import AnsibleEC2Error
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.nixl_efa.cluster.plugins.module_utils.capacity_block import filter_offerings
from ansible_collections.nixl_efa.cluster.plugins.module_utils.capacity_block import purchase_key_filters
from ansible_collections.nixl_efa.cluster.plugins.module_utils.capacity_block import sort_offerings
from ansible_collections.nixl_efa.cluster.plugins.module_utils.capacity_block import summarize_offering


class InstanceTypeErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleEC2Error

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code("InvalidInstanceType")


class ImageErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleEC2Error

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["InvalidAMIID.NotFound", "InvalidAMIID.Malformed"])


class LaunchTemplateErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleEC2Error

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound"])


class CapacityErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = AnsibleEC2Error

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["InvalidCapacityReservationId.NotFound", "InvalidCapacityBlockId.NotFound"])


def _paginate(client, operation, key, **params):
    return client.get_paginator(operation).paginate(**params).build_full_result().get(key, [])


# Instance types -------------------------------------------------------------


@InstanceTypeErrorHandler.list_error_handler("describe instance types", None)
@AWSRetry.jittered_backoff()
def describe_instance_types(client, instance_types):
    """DescribeInstanceTypes for the given names; None when EC2 says a name does not exist."""
    return _paginate(client, "describe_instance_types", "InstanceTypes", InstanceTypes=list(instance_types))


def unknown_instance_types(client, instance_types):
    """Names EC2 does not know, found one by one (only called after a failed batch)."""
    return [name for name in instance_types if describe_instance_types(client, [name]) is None]


# Images ---------------------------------------------------------------------


@ImageErrorHandler.list_error_handler("describe image", None)
@AWSRetry.jittered_backoff()
def describe_image(client, image_id):
    images = client.describe_images(ImageIds=[image_id]).get("Images", [])
    return images[0] if images else None


# Launch templates -----------------------------------------------------------


@LaunchTemplateErrorHandler.list_error_handler("describe launch template", None)
@AWSRetry.jittered_backoff()
def describe_launch_template(client, name):
    templates = client.describe_launch_templates(LaunchTemplateNames=[name]).get("LaunchTemplates", [])
    return templates[0] if templates else None


@LaunchTemplateErrorHandler.list_error_handler("describe launch template version", None)
@AWSRetry.jittered_backoff()
def describe_launch_template_version(client, template_id, version):
    versions = client.describe_launch_template_versions(LaunchTemplateId=template_id, Versions=[str(version)]).get(
        "LaunchTemplateVersions", []
    )
    return versions[0] if versions else None


@LaunchTemplateErrorHandler.common_error_handler("create launch template")
@AWSRetry.jittered_backoff()
def create_launch_template(client, **params):
    return client.create_launch_template(**params)["LaunchTemplate"]


@LaunchTemplateErrorHandler.common_error_handler("create launch template version")
@AWSRetry.jittered_backoff()
def create_launch_template_version(client, **params):
    return client.create_launch_template_version(**params)["LaunchTemplateVersion"]


@LaunchTemplateErrorHandler.common_error_handler("set the launch template default version")
@AWSRetry.jittered_backoff()
def set_default_launch_template_version(client, template_id, version):
    return client.modify_launch_template(LaunchTemplateId=template_id, DefaultVersion=str(version))["LaunchTemplate"]


@LaunchTemplateErrorHandler.deletion_error_handler("delete launch template")
@AWSRetry.jittered_backoff()
def delete_launch_template(client, template_id):
    client.delete_launch_template(LaunchTemplateId=template_id)
    return True


@LaunchTemplateErrorHandler.common_error_handler("tag launch template")
@AWSRetry.jittered_backoff()
def create_tags(client, resource_id, tags):
    client.create_tags(Resources=[resource_id], Tags=tags)
    return True


@LaunchTemplateErrorHandler.common_error_handler("untag launch template")
@AWSRetry.jittered_backoff()
def delete_tags(client, resource_id, keys):
    client.delete_tags(Resources=[resource_id], Tags=[{"Key": k} for k in keys])
    return True


# Capacity blocks ------------------------------------------------------------


@CapacityErrorHandler.common_error_handler("describe capacity block offerings")
@AWSRetry.jittered_backoff()
def describe_capacity_block_offerings(client, **params):
    return _paginate(client, "describe_capacity_block_offerings", "CapacityBlockOfferings", **params)


@CapacityErrorHandler.list_error_handler("describe capacity reservations", [])
@AWSRetry.jittered_backoff()
def describe_capacity_reservations(client, **params):
    return _paginate(client, "describe_capacity_reservations", "CapacityReservations", **params)


@CapacityErrorHandler.list_error_handler("describe capacity blocks", [])
@AWSRetry.jittered_backoff()
def describe_capacity_blocks(client, **params):
    return _paginate(client, "describe_capacity_blocks", "CapacityBlocks", **params)


@CapacityErrorHandler.list_error_handler("describe capacity block status", [])
@AWSRetry.jittered_backoff()
def describe_capacity_block_status(client, **params):
    return _paginate(client, "describe_capacity_block_status", "CapacityBlockStatuses", **params)


@CapacityErrorHandler.common_error_handler("describe capacity block extension offerings")
@AWSRetry.jittered_backoff()
def describe_capacity_block_extension_offerings(client, reservation_id, hours):
    return _paginate(
        client,
        "describe_capacity_block_extension_offerings",
        "CapacityBlockExtensionOfferings",
        CapacityReservationId=reservation_id,
        CapacityBlockExtensionDurationHours=hours,
    )


@CapacityErrorHandler.list_error_handler("describe capacity block extension history", [])
@AWSRetry.jittered_backoff()
def describe_capacity_block_extension_history(client, reservation_id):
    return _paginate(
        client,
        "describe_capacity_block_extension_history",
        "CapacityBlockExtensions",
        CapacityReservationIds=[reservation_id],
    )


@CapacityErrorHandler.common_error_handler("tag capacity reservation")
@AWSRetry.jittered_backoff()
def tag_capacity_reservation(client, reservation_id, tags):
    """CreateTags on one reservation: adds or overwrites these tags only, every other tag stays."""
    client.create_tags(Resources=[reservation_id], Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])
    return True


@CapacityErrorHandler.common_error_handler("untag capacity reservation")
@AWSRetry.jittered_backoff()
def untag_capacity_reservation(client, reservation_id, tags):
    """DeleteTags on one reservation, each tag with its value: EC2 deletes a tag only while it has that value."""
    client.delete_tags(Resources=[reservation_id], Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())])
    return True


# Purchases ------------------------------------------------------------------
#
# PurchaseCapacityBlock and PurchaseCapacityBlockExtension take no ClientToken:
# sending one twice can buy twice. So a purchase is never retried blindly, not by
# AWSRetry and not by botocore (callers pass a client built with
# NO_RETRY_CONFIG). Only a throttling rejection, which EC2 answers before acting,
# is tried again; after any other failure the caller's lookup decides whether the
# purchase went through.

NO_RETRY_CONFIG = {"retries": {"total_max_attempts": 1}}
THROTTLING_CODES = ("RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException")


def purchase_once(call, find_existing, what, attempts=6, base_delay=2.0, max_delay=30.0, sleep=None):
    """Call a non-idempotent purchase so that it can never complete twice.

    call: makes the purchase and returns its result.
    find_existing: returns what the purchase would have bought if it already
    exists (looked up by the purchase key), else None.
    Returns (result, recovered): recovered is True when the call failed but the
    lookup found the purchase anyway.
    """
    sleep = sleep or time.sleep
    throttled = False
    for attempt in range(attempts):
        try:
            return call(), False
        except botocore.exceptions.ClientError as e:
            throttled = e.response.get("Error", {}).get("Code") in THROTTLING_CODES
            if throttled and attempt + 1 < attempts:
                sleep(random.uniform(0, min(max_delay, base_delay * 2**attempt)))
                continue
            error = e
        except botocore.exceptions.BotoCoreError as e:
            throttled = False
            error = e
        break

    existing = find_existing()
    if existing is not None:
        return existing, True
    status = None
    if isinstance(error, botocore.exceptions.ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if throttled:
        raise AnsibleEC2Error(
            message=f"Failed to {what}: still throttled after {attempts} attempts, nothing was bought", exception=error
        )
    if status is not None and status < 500:
        raise AnsibleEC2Error(message=f"Failed to {what}: EC2 refused the request, nothing was bought", exception=error)
    raise AnsibleEC2Error(
        message=(
            f"Failed to {what} and its outcome is unknown ({error}); no purchase carrying the purchase key "
            "was found. Check with nixl_efa.cluster.capacity_block_info before running again"
        ),
        exception=error,
    )


def search_offerings(client, request, availability_zone=None, sort="start"):
    """Offerings for a request built by build_offering_request: summarized, filtered by zone, sorted."""
    raw = describe_capacity_block_offerings(client, **request)
    offerings = filter_offerings([summarize_offering(o) for o in raw], availability_zone)
    return sort_offerings(offerings, sort or "start")


def find_capacity_reservations_by_key(client, name):
    """Reservations (oldest first) whose capacity block carries the purchase key."""
    filters = purchase_key_filters(name)
    reservations = describe_capacity_reservations(client, Filters=filters)
    if not reservations:
        blocks = describe_capacity_blocks(client, Filters=filters)
        ids = [rid for block in blocks for rid in block.get("CapacityReservationIds") or []]
        if ids:
            reservations = describe_capacity_reservations(client, CapacityReservationIds=ids)
    return sorted(reservations, key=lambda r: str(r.get("CreateDate") or ""))
