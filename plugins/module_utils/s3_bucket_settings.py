# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The settings a cluster's bucket is made of, one S3 request each (s3_bucket_settings_info).

amazon.aws.s3_bucket re-reads about a dozen bucket settings on every run, and s3_bucket_info lists
every bucket of the account first; this reads the six the iam_s3 role sets, and nothing else: the
tags (the first request, which also says whether the bucket exists), default encryption, the public
access block, object ownership, the policy and the lifecycle rules. A setting the bucket does not
have reads as its empty value (no tags {}, no lifecycle rules [], the others None), as amazon.aws's
s3_bucket and community.aws's s3_lifecycle read them.
"""

import json

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.botocore import normalize_boto3_result
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

SETTINGS = ("tags", "encryption", "public_access_block", "object_ownership", "policy", "lifecycle_rules")

# The error S3 answers when the bucket has no such setting (it then reads as empty).
_NOT_SET = {
    "tags": "NoSuchTagSet",
    "encryption": "ServerSideEncryptionConfigurationNotFoundError",
    "public_access_block": "NoSuchPublicAccessBlockConfiguration",
    "object_ownership": "OwnershipControlsNotFoundError",
    "policy": "NoSuchBucketPolicy",
    "lifecycle_rules": "NoSuchLifecycleConfiguration",
}
_EMPTY = {"tags": {}, "lifecycle_rules": []}
_MISSING_BUCKET = ("NoSuchBucket", "404", "NotFound")
# A bucket that exists but is not this caller's to read: another account's (AccessDenied), or in another region
# (PermanentRedirect, AuthorizationHeaderMalformed), as the first request answers for it.
_NOT_READABLE = ("AccessDenied", "AllAccessDisabled", "403", "PermanentRedirect", "301", "AuthorizationHeaderMalformed")
# S3's throttling answer, which amazon.aws's AWSRetry does not retry by itself.
RETRY_CODES = ["SlowDown"]

PUBLIC_ACCESS_KEYS = {
    "BlockPublicAcls": "block_public_acls",
    "IgnorePublicAcls": "ignore_public_acls",
    "BlockPublicPolicy": "block_public_policy",
    "RestrictPublicBuckets": "restrict_public_buckets",
}


def _tags(response):
    return boto3_tag_list_to_ansible_dict(response.get("TagSet") or [])


def _encryption(response):
    rules = (response.get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    if not rules:
        return None
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    return {
        "sse_algorithm": default.get("SSEAlgorithm"),
        "kms_master_key_id": default.get("KMSMasterKeyID"),
        "bucket_key_enabled": rules[0].get("BucketKeyEnabled"),
    }


def _public_access_block(response):
    block = response.get("PublicAccessBlockConfiguration") or {}
    return {PUBLIC_ACCESS_KEYS.get(k, k): v for k, v in block.items()}


def _object_ownership(response):
    rules = (response.get("OwnershipControls") or {}).get("Rules") or []
    return rules[0].get("ObjectOwnership") if rules else None


def _policy(response):
    text = response.get("Policy")
    return json.loads(text) if text else None


def _lifecycle_rules(response):
    return normalize_boto3_result(response.get("Rules") or [])


# Each setting: the S3 call that reads it and how its answer becomes the setting's value.
READERS = {
    "tags": ("get_bucket_tagging", _tags),
    "encryption": ("get_bucket_encryption", _encryption),
    "public_access_block": ("get_public_access_block", _public_access_block),
    "object_ownership": ("get_bucket_ownership_controls", _object_ownership),
    "policy": ("get_bucket_policy", _policy),
    "lifecycle_rules": ("get_bucket_lifecycle_configuration", _lifecycle_rules),
}


def _error_code(error):
    return str(error.response.get("Error", {}).get("Code", "")) if hasattr(error, "response") else ""


def read_bucket(client, name, settings=SETTINGS):
    """The bucket's settings asked for, one request each; stops at the first when the bucket is missing or unreadable.

    Returns {"name", "exists", <setting>: value ...}; a bucket that exists but answers the first request with
    an error of its own (another account's, AccessDenied; another region's, PermanentRedirect) comes back as
    {"name", "exists": True, "error": <code>} and nothing else is read. Other errors raise.
    """
    wanted = [s for s in SETTINGS if s in settings]
    bucket = {"name": name, "exists": True}
    if not wanted:
        try:
            client.head_bucket(Bucket=name, aws_retry=True)
        except is_boto3_error_code(list(_MISSING_BUCKET)):
            return {"name": name, "exists": False}
        except is_boto3_error_code(list(_NOT_READABLE)) as e:  # pylint: disable=duplicate-except
            return dict(bucket, error=_error_code(e))
        return bucket
    for setting in wanted:
        operation, shape = READERS[setting]
        try:
            bucket[setting] = shape(getattr(client, operation)(Bucket=name, aws_retry=True))
        except is_boto3_error_code(_NOT_SET[setting]):
            bucket[setting] = _EMPTY.get(setting)
        except is_boto3_error_code(list(_MISSING_BUCKET)):  # pylint: disable=duplicate-except
            return {"name": name, "exists": False}
        except is_boto3_error_code(list(_NOT_READABLE)) as e:  # pylint: disable=duplicate-except
            if setting != wanted[0]:
                raise
            return dict(bucket, error=_error_code(e))
    return bucket
