# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The names of a cluster's global resources, derived in this one place.

IAM role and instance profile names are unique in an account, S3 bucket names across every account,
whatever the region: a name derived from the cluster name alone would be shared by the same cluster
name in two regions, and the teardown of one would delete the other's. Each name therefore carries
the region:

- the nodes' role and instance profile: ``<cluster>-<region>-node`` (IAM: 64 characters at most,
  instance profiles 128),
- the execution role of the cluster's expiry schedule: ``<cluster>-<region>-expiry``,
- the bucket: ``nixl-efa-<cluster>-<region>-<account id>`` (S3: 63 at most).

A cluster name is at most 32 characters and a region name at most 15 today, so the roles always fit;
the bucket does not for a long cluster name in a long region name (``nixl-efa-`` + 32 + ``-`` + 15 +
``-`` + 12 = 70). Then, and only then, the cluster part keeps as many of its first characters as fit,
followed by six hex digits of the SHA-256 of the whole cluster name, so that two clusters sharing the
first characters still get two buckets; the region and the account id always stay whole.

The cluster's regional names (security group, placement group, launch template, EventBridge Scheduler
schedule group, Parameter Store path) and its ownership tag are given here too (cluster_resource_name,
cluster_tag), so that no role or playbook retypes them.

Pure logic; the node_role_name, expiry_role_name, cluster_bucket_name, cluster_resource_name and cluster_tag
filters are its Ansible face.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import CLUSTER_TAG

ROLE_NAME_LIMIT = 64
BUCKET_NAME_LIMIT = 63
BUCKET_PREFIX = "nixl-efa-"
ROLE_SUFFIX = "node"
EXPIRY_ROLE_SUFFIX = "expiry"
PARAMETER_ROOT = "/nixl-efa"
# The regional resources named after the cluster: <cluster><suffix>, unique in the cluster's VPC or region.
RESOURCE_SUFFIXES = {
    "security_group": "-efa",
    "placement_group": "-cluster",
    "launch_template": "-nodes",
    # EventBridge Scheduler keeps tags on schedule groups, not on schedules: the cluster's expiry schedule
    # lives in a group of its own, which carries the cluster's ownership tag.
    "expiry_schedule_group": "-expiry",
}
DIGEST_LENGTH = 6

CLUSTER_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
REGION_PATTERN = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
ACCOUNT_PATTERN = re.compile(r"^[0-9]{12}$")


def _check(value, pattern, what):
    if not isinstance(value, str) or not pattern.match(value):
        raise ValueError(f"{what} {value!r} is not valid (expected {pattern.pattern})")


def fit_cluster(cluster, fixed_length, limit):
    """The cluster part of a name whose other parts take `fixed_length` characters, within `limit`."""
    if len(cluster) + fixed_length <= limit:
        return cluster
    keep = limit - fixed_length - DIGEST_LENGTH - 1
    if keep < 1:
        raise ValueError(f"no room for cluster {cluster!r} in a name of at most {limit} characters")
    digest = hashlib.sha256(cluster.encode("utf-8")).hexdigest()[:DIGEST_LENGTH]
    return f"{cluster[:keep].rstrip('-')}-{digest}"


def _role_name(cluster, region, suffix):
    _check(cluster, CLUSTER_PATTERN, "Cluster name")
    _check(region, REGION_PATTERN, "Region")
    tail = f"-{region}-{suffix}"
    return fit_cluster(cluster, len(tail), ROLE_NAME_LIMIT) + tail


def node_role_name(cluster, region):
    """The nodes' IAM role (and instance profile) name: <cluster>-<region>-node, 64 characters at most."""
    return _role_name(cluster, region, ROLE_SUFFIX)


def expiry_role_name(cluster, region):
    """The execution role of the cluster's expiry schedule: <cluster>-<region>-expiry, 64 characters at most."""
    return _role_name(cluster, region, EXPIRY_ROLE_SUFFIX)


def cluster_bucket_name(cluster, region, account):
    """The cluster's bucket name: nixl-efa-<cluster>-<region>-<account id>, 63 characters at most."""
    _check(cluster, CLUSTER_PATTERN, "Cluster name")
    _check(region, REGION_PATTERN, "Region")
    _check(str(account), ACCOUNT_PATTERN, "Account id")
    tail = f"-{region}-{account}"
    return BUCKET_PREFIX + fit_cluster(cluster, len(BUCKET_PREFIX) + len(tail), BUCKET_NAME_LIMIT) + tail


TAG_OUTPUTS = ("tags", "filter")


def cluster_tag(cluster, output="tags"):
    """The cluster's ownership tag (module_utils/ownership.CLUSTER_TAG) as a resource's tags or an EC2 filter.

    tags: {"nixl-efa:cluster": cluster}, to combine into a resource's tags; filter:
    {"tag:nixl-efa:cluster": cluster}, for EC2 describe filters. The key alone is the cluster_tag_key lookup.
    """
    if not isinstance(cluster, str) or not cluster:
        raise ValueError(f"cluster_tag needs the cluster name, got {cluster!r}")
    if output == "filter":
        return {f"tag:{CLUSTER_TAG}": cluster}
    if output == "tags":
        return {CLUSTER_TAG: cluster}
    raise ValueError(f"cluster_tag output {output!r} is not one of {', '.join(TAG_OUTPUTS)}")


def cluster_resource_name(cluster, kind):
    """The default name of a cluster's regional resource: its security group (<cluster>-efa), placement group
    (<cluster>-cluster), launch template (<cluster>-nodes), EventBridge Scheduler schedule group of its expiry
    (<cluster>-expiry), or its Parameter Store path (/nixl-efa/<cluster>).

    No check of the cluster name here: the roles check their inputs first, and name the variable set.
    """
    if not isinstance(cluster, str) or not cluster:
        raise ValueError(f"cluster_resource_name needs the cluster name, got {cluster!r}")
    if kind == "parameter_path":
        return f"{PARAMETER_ROOT}/{cluster}"
    if kind in RESOURCE_SUFFIXES:
        return cluster + RESOURCE_SUFFIXES[kind]
    kinds = ", ".join([*RESOURCE_SUFFIXES, "parameter_path"])
    raise ValueError(f"cluster_resource_name kind {kind!r} is not one of {kinds}")
