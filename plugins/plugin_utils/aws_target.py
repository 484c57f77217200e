# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which AWS a run talks to, decided before the first call: the lab's local stand-in or a real account.

Every AWS client of a run (the modules on the controller, the aws_ec2 inventory, the aws_ssm
connection) takes its endpoint from the controller's environment: botocore reads AWS_ENDPOINT_URL
for every service and AWS_ENDPOINT_URL_<SERVICE> for one (AWS SDKs and Tools Reference Guide,
"Service-specific endpoints"). The inventory says which AWS it is made for: the lab's sets
cluster_local_aws. The two must agree, in both directions:

- settings made for the lab (cluster_local_aws) with an endpoint that is not a loopback address
  would buy, create and delete in whatever account the shell's credentials open;
- an endpoint on a loopback address (the lab's exports left in the shell) with an inventory made
  for a real account would send that inventory's run to a stand-in, and report a cluster that
  does not exist;
- settings only a stand-in served over plain HTTP can use (cluster_require_tls: false) have no
  place on a real account.

Pure logic, controller side; the aws_target and lab_endpoint lookups are its Ansible faces.
"""

from __future__ import annotations

import ipaddress
import urllib.parse

# botocore's variables: one for every service, then the service-specific ones of the clients this
# collection uses (EC2, S3, IAM, STS, SSM, Secrets Manager, EFS), named by botocore's rule:
# AWS_ENDPOINT_URL_ + the service id upper-cased with spaces as underscores.
ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_EC2",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL_IAM",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL_SSM",
    "AWS_ENDPOINT_URL_SECRETS_MANAGER",
    "AWS_ENDPOINT_URL_EFS",
)
LAB_UP = "Run `make lab-up` and export the line it prints"


def is_loopback_url(url):
    """True for an http(s) URL whose host is a loopback address (127.0.0.0/8, ::1) or localhost."""
    try:
        parsed = urllib.parse.urlsplit(str(url).strip())
        host = parsed.hostname
    except ValueError:
        return False
    if parsed.scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoints(environ):
    """The endpoint variables set (non-empty) in `environ`, in ENDPOINT_VARIABLES order."""
    return {name: environ[name].strip() for name in ENDPOINT_VARIABLES if (environ.get(name) or "").strip()}


def aws_target_problems(environ, local_aws=False, require_tls=True):
    """The rules this run breaks, one message each; empty when the settings and the endpoint agree.

    `environ` is the controller's environment, `local_aws` the inventory's cluster_local_aws and
    `require_tls` its cluster_require_tls.
    """
    set_ = endpoints(environ)
    problems = []
    if local_aws:
        general = set_.get("AWS_ENDPOINT_URL", "")
        if not general:
            problems.append(
                "cluster_local_aws is true (an inventory made for the lab), but AWS_ENDPOINT_URL is not set, so "
                f"every call would go to AWS itself. {LAB_UP}, or use -i inventories/aws for a real account."
            )
        for name, url in set_.items():
            if not is_loopback_url(url):
                problems.append(
                    f"cluster_local_aws is true (an inventory made for the lab), but {name} is '{url}', not a "
                    f"loopback URL, so those calls would go to AWS itself. {LAB_UP}, or use -i inventories/aws "
                    "for a real account."
                )
    else:
        for name, url in set_.items():
            if is_loopback_url(url):
                problems.append(
                    f"{name} is '{url}', a loopback address (a local stand-in of AWS, such as the lab's "
                    "exports), but this inventory is made for a real account (cluster_local_aws is not set). Use "
                    f"-i inventories/lab for the lab, or unset {name} for AWS."
                )
        if not require_tls:
            problems.append(
                "cluster_require_tls is false, which only a local stand-in served over plain HTTP (the lab) needs: "
                "on a real account the bucket refuses requests that are not over TLS. Remove the setting."
            )
    return problems


def lab_endpoint(environ):
    """The lab's URL for an inventory that may only ever reach the lab: AWS_ENDPOINT_URL when it is loopback.

    Raises ValueError otherwise, so the lab's inventory fails to load instead of asking AWS itself.
    """
    url = (environ.get("AWS_ENDPOINT_URL") or "").strip()
    if not is_loopback_url(url):
        shown = f"'{url}', not a loopback URL" if url else "not set"
        raise ValueError(
            f"This inventory reaches only the lab, and AWS_ENDPOINT_URL is {shown}: nothing was asked of AWS. {LAB_UP}."
        )
    return url
