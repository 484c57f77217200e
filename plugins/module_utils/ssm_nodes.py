# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Systems Manager managed nodes: DescribeInstanceInformation and a waiter for PingStatus Online.

botocore ships no waiter for SSM managed nodes, so this builds one from a waiter model: the
same polling machinery as EC2's waiters, with AWS's retry handling, and no hand-written sleeps.

DescribeInstanceInformation pages: 10 nodes per page unless MaxResults (5 to 50) says otherwise,
and a page may hold fewer nodes than asked, even none, while a NextToken follows. A waiter that
read one page would never see the 11th node Online, so each attempt here reads every page.
"""

try:
    from botocore.waiter import Waiter
    from botocore.waiter import WaiterModel
except ImportError:
    pass  # AnsibleAWSModule reports the missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

ONLINE = "Online"
# DescribeInstanceInformation takes at most 50 instance ids per filter value list, and answers at
# most 50 nodes per page (MaxResults 5 to 50; 10 when not given).
MAX_IDS_PER_CALL = 50
PAGE_SIZE = 50


def _chunks(items, size=MAX_IDS_PER_CALL):
    return [items[i : i + size] for i in range(0, len(items), size)]


@AWSRetry.jittered_backoff()
def _describe_page(client, **params):
    return client.describe_instance_information(**params)


def _all_pages(client, **params):
    """Every page of one DescribeInstanceInformation request, as one response."""
    nodes = []
    token = None
    while True:
        page = _describe_page(client, MaxResults=PAGE_SIZE, **params, **({"NextToken": token} if token else {}))
        nodes.extend(page.get("InstanceInformationList") or [])
        token = page.get("NextToken")
        if not token:
            return {"InstanceInformationList": nodes}


def describe_nodes(client, instance_ids=None):
    """Raw InstanceInformation entries, all of them or those of instance_ids."""
    requests = [{}] if not instance_ids else [
        {"Filters": [{"Key": "InstanceIds", "Values": chunk}]} for chunk in _chunks(list(instance_ids))
    ]  # fmt: skip
    nodes = []
    for params in requests:
        nodes.extend(_all_pages(client, **params)["InstanceInformationList"])
    return nodes


def summarize_node(raw):
    """snake_case view of one InstanceInformation entry."""
    last_ping = raw.get("LastPingDateTime")
    return {
        "instance_id": raw.get("InstanceId"),
        "ping_status": raw.get("PingStatus"),
        "last_ping_date_time": last_ping.isoformat() if hasattr(last_ping, "isoformat") else last_ping,
        "agent_version": raw.get("AgentVersion"),
        "is_latest_version": raw.get("IsLatestVersion"),
        "platform_type": raw.get("PlatformType"),
        "platform_name": raw.get("PlatformName"),
        "platform_version": raw.get("PlatformVersion"),
        "resource_type": raw.get("ResourceType"),
        "ip_address": raw.get("IPAddress"),
        "computer_name": raw.get("ComputerName"),
    }


def not_online(nodes, instance_ids):
    """The ids in instance_ids that are not reported Online, in the order given."""
    online = {n["instance_id"] for n in nodes if n.get("ping_status") == ONLINE}
    return [i for i in instance_ids if i not in online]


def progress(instance_ids, missing):
    """'n of N nodes Online in Session Manager', and which are not yet."""
    text = f"{len(instance_ids) - len(missing)} of {len(instance_ids)} nodes Online in Session Manager"
    return f"{text}; not yet: {', '.join(missing)}" if missing else text


def online_waiter_model(count, delay, max_attempts):
    """A waiter that succeeds once `count` of the filtered nodes report PingStatus Online."""
    return WaiterModel(
        {
            "version": 2,
            "waiters": {
                "NodesOnline": {
                    "operation": "DescribeInstanceInformation",
                    "delay": delay,
                    "maxAttempts": max_attempts,
                    "acceptors": [
                        {
                            "matcher": "path",
                            "argument": f"length(InstanceInformationList[?PingStatus == '{ONLINE}'])",
                            "expected": count,
                            "state": "success",
                        },
                    ],
                }
            },
        }
    )


def wait_online(client, instance_ids, timeout, delay=5):
    """Block until every instance in instance_ids reports Online (at most 50 per waiter), reading every page."""
    max_attempts = max(1, int(timeout) // max(1, int(delay)))
    for chunk in _chunks(list(instance_ids)):
        config = online_waiter_model(len(chunk), delay, max_attempts).get_waiter("NodesOnline")
        waiter = Waiter("NodesOnline", config, lambda **params: _all_pages(client, **params))
        waiter.wait(
            Filters=[{"Key": "InstanceIds", "Values": chunk}],
            WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts},
        )
