#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: s3_bucket_settings_info
version_added: 0.1.0
short_description: Read an S3 bucket's tags, encryption, public access block, ownership, policy and lifecycle rules
description:
  - Reads the settings of one S3 bucket that the C(iam_s3) role sets, one S3 request each and nothing else (no
    C(ListBuckets) of the whole account) - its tags, default encryption, public access block, object ownership,
    bucket policy and lifecycle rules.
  - The first request (the tags, or C(HeadBucket) when no setting is asked for) also says whether the bucket
    exists. A bucket that exists but answers it with an error of its own (another account's, C(AccessDenied);
    another region's, C(PermanentRedirect)) is returned as existing, with the error's code, and nothing more is
    read from it.
  - A setting the bucket does not have reads as its empty value, as M(amazon.aws.s3_bucket) and
    M(community.aws.s3_lifecycle) read it - no tags V({}), no lifecycle rules V([]), the others V(null).
  - What it returns is what the C(drift) filter compares with M(amazon.aws.s3_bucket)'s and
    M(community.aws.s3_lifecycle)'s parameters, so a converged bucket costs these reads and no write module.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  name:
    description: The bucket's name.
    type: str
    required: true
  settings:
    description: The settings to read (each one request); V([]) reads none and only says whether the bucket exists.
    type: list
    elements: str
    choices: [tags, encryption, public_access_block, object_ownership, policy, lifecycle_rules]
    default: [tags, encryption, public_access_block, object_ownership, policy, lifecycle_rules]
seealso:
  - module: amazon.aws.s3_bucket
  - module: amazon.aws.s3_bucket_info
  - module: community.aws.s3_lifecycle
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - nixl_efa.cluster.attributes.info_module
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the cluster bucket's settings
  nixl_efa.cluster.s3_bucket_settings_info:
    name: nixl-efa-demo-us-east-1-123456789012
  register: bucket_settings

- name: Read only its tags, for an ownership check
  nixl_efa.cluster.s3_bucket_settings_info:
    name: nixl-efa-demo-us-east-1-123456789012
    settings: [tags]
  register: bucket_tags

- name: Refuse a bucket of this name that is not this cluster's
  ansible.builtin.assert:
    that: >-
      not bucket_tags.bucket.exists
      or bucket_tags.bucket.tags | default({}) is contains('nixl-efa:cluster')
"""

RETURN = r"""
bucket:
  description: The bucket as read; the settings not asked for are left out.
  returned: always
  type: dict
  contains:
    name:
      description: The bucket's name.
      type: str
      sample: nixl-efa-demo-us-east-1-123456789012
    exists:
      description: Whether the bucket exists, in any account (see RV(bucket.error)).
      type: bool
      sample: true
    error:
      description:
        - The error code of the first request when the bucket exists but could not be read; then nothing else is
          returned.
      type: str
      returned: when the bucket could not be read
      sample: AccessDenied
    tags:
      description: Its tags.
      type: dict
      returned: when asked for and the bucket exists
      sample: {"nixl-efa:cluster": "demo"}
    encryption:
      description: Its default encryption (the first rule), or V(null).
      type: dict
      returned: when asked for and the bucket exists
      contains:
        sse_algorithm:
          description: V(AES256), V(aws:kms) or V(aws:kms:dsse).
          type: str
          sample: AES256
        kms_master_key_id:
          description: The KMS key, with V(aws:kms).
          type: str
        bucket_key_enabled:
          description: Whether an S3 bucket key is used.
          type: bool
    public_access_block:
      description: Its public access block, or V(null).
      type: dict
      returned: when asked for and the bucket exists
      contains:
        block_public_acls:
          description: BlockPublicAcls.
          type: bool
        ignore_public_acls:
          description: IgnorePublicAcls.
          type: bool
        block_public_policy:
          description: BlockPublicPolicy.
          type: bool
        restrict_public_buckets:
          description: RestrictPublicBuckets.
          type: bool
    object_ownership:
      description: Its object ownership (V(BucketOwnerEnforced), V(BucketOwnerPreferred), V(ObjectWriter)), or V(null).
      type: str
      returned: when asked for and the bucket exists
      sample: BucketOwnerEnforced
    policy:
      description: Its bucket policy, parsed, or V(null).
      type: dict
      returned: when asked for and the bucket exists
    lifecycle_rules:
      description: Its lifecycle rules as S3 returns them (C(ID), C(Filter), C(Status), C(Expiration), ...).
      type: list
      elements: dict
      returned: when asked for and the bucket exists
      sample: [{"ID": "expire", "Filter": {"Prefix": "i-"}, "Status": "Enabled", "Expiration": {"Days": 1}}]
"""

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

from ansible_collections.nixl_efa.cluster.plugins.module_utils.s3_bucket_settings import RETRY_CODES
from ansible_collections.nixl_efa.cluster.plugins.module_utils.s3_bucket_settings import SETTINGS
from ansible_collections.nixl_efa.cluster.plugins.module_utils.s3_bucket_settings import read_bucket


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            settings=dict(type="list", elements="str", choices=list(SETTINGS), default=list(SETTINGS)),
        ),
        supports_check_mode=True,
    )
    client = module.client("s3", retry_decorator=AWSRetry.jittered_backoff(catch_extra_error_codes=RETRY_CODES))
    try:
        bucket = read_bucket(client, module.params["name"], module.params["settings"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Could not read the settings of bucket {module.params['name']}")
    module.exit_json(changed=False, bucket=bucket)


if __name__ == "__main__":
    main()
