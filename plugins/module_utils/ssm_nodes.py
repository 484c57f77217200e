# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Systems Manager managed nodes: DescribeInstanceInformation and a waiter for PingStatus Online.

botocore ships no waiter for SSM managed nodes, so this builds one from a waiter model: the
same polling machinery as EC2's waiters, with AWS's retry handling, and no hand-written sleeps.
"""

try:
    from botocore.waiter import WaiterModel
    from botocore.waiter import create_waiter_with_client
except ImportError:
    pass  # AnsibleAWSModule reports the missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

ONLINE = "Online"
# DescribeInstanceInformation takes at most 50 instance ids per filter value list.
MAX_IDS_PER_CALL = 50


def _chunks(items, size=MAX_IDS_PER_CALL):
    return [items[i : i + size] for i in range(0, len(items), size)]


@AWSRetry.jittered_backoff()
def _describe_page(client, **params):
    return client.describe_instance_information(**params)


def describe_nodes(client, instance_ids=None):
    """Raw InstanceInformation entries, all of them or those of instance_ids."""
    requests = [{}] if not instance_ids else [
        {"Filters": [{"Key": "InstanceIds", "Values": chunk}]} for chunk in _chunks(list(instance_ids))
    ]  # fmt: skip
    nodes = []
    for params in requests:
        token = None
        while True:
            page = _describe_page(client, **params, **({"NextToken": token} if token else {}))
            nodes.extend(page.get("InstanceInformationList") or [])
            token = page.get("NextToken")
            if not token:
                break
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
    """Block until every instance in instance_ids reports Online (at most 50 per waiter call)."""
    max_attempts = max(1, int(timeout) // max(1, int(delay)))
    for chunk in _chunks(list(instance_ids)):
        waiter = create_waiter_with_client("NodesOnline", online_waiter_model(len(chunk), delay, max_attempts), client)
        waiter.wait(
            Filters=[{"Key": "InstanceIds", "Values": chunk}],
            WaiterConfig={"Delay": delay, "MaxAttempts": max_attempts},
        )
