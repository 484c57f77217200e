# -*- coding: utf-8 -*-
import datetime

from ansible_collections.nixl_efa.cluster.plugins.modules import ssm_managed_node_info as module

PING = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)


def node(iid, status="Online"):
    return {
        "InstanceId": iid,
        "PingStatus": status,
        "LastPingDateTime": PING,
        "AgentVersion": "3.3.4793.0",
        "PlatformType": "Linux",
        "PlatformName": "Ubuntu",
        "ResourceType": "EC2Instance",
        "IPAddress": "10.0.200.10",
    }


def ids_filter(*ids, token=None):
    params = {"Filters": [{"Key": "InstanceIds", "Values": list(ids)}], "MaxResults": 50}
    return {**params, "NextToken": token} if token else params


def test_lists_nodes_snake_case_with_not_online(ssm, run_module):
    ssm.stub.add_response(
        "describe_instance_information",
        {"InstanceInformationList": [node("i-1"), node("i-2", "ConnectionLost")]},
        ids_filter("i-1", "i-2", "i-3"),
    )
    result = run_module(module, {"instance_ids": ["i-1", "i-2", "i-3"]})
    assert result["changed"] is False
    assert [n["instance_id"] for n in result["managed_nodes"]] == ["i-1", "i-2"]
    assert result["managed_nodes"][0]["last_ping_date_time"] == "2026-11-25T12:00:00+00:00"
    assert result["managed_nodes"][0]["ip_address"] == "10.0.200.10"
    assert result["not_online"] == ["i-2", "i-3"]
    assert result["progress"] == "1 of 3 nodes Online in Session Manager; not yet: i-2, i-3"


def test_follows_next_token(ssm, run_module):
    first = {"InstanceInformationList": [node("i-1")], "NextToken": "t"}
    ssm.stub.add_response("describe_instance_information", first, {"MaxResults": 50})
    second = {"InstanceInformationList": [node("i-2")]}
    ssm.stub.add_response("describe_instance_information", second, {"MaxResults": 50, "NextToken": "t"})
    result = run_module(module, {})
    assert [n["instance_id"] for n in result["managed_nodes"]] == ["i-1", "i-2"]
    assert result["not_online"] == []


def test_wait_polls_through_a_waiter_until_all_online(ssm, run_module):
    ssm.stub.add_response("describe_instance_information", {"InstanceInformationList": []}, ids_filter("i-1", "i-2"))
    ssm.stub.add_response(
        "describe_instance_information", {"InstanceInformationList": [node("i-1")]}, ids_filter("i-1", "i-2")
    )
    both = {"InstanceInformationList": [node("i-1"), node("i-2")]}
    ssm.stub.add_response("describe_instance_information", both, ids_filter("i-1", "i-2"))
    ssm.stub.add_response("describe_instance_information", both, ids_filter("i-1", "i-2"))
    result = run_module(module, {"instance_ids": ["i-1", "i-2"], "wait": True, "wait_delay": 7})
    assert result["failed"] is False
    assert result["not_online"] == []
    # The first read found none Online, so the waiter ran: its first poll found one (it slept its
    # delay), its second both; then the nodes are read once more for the result.
    assert ssm.sleeps == [7]


def test_wait_on_nodes_already_online_is_one_read(ssm, run_module):
    # A converged cluster: one DescribeInstanceInformation, no waiter, no sleep.
    both = {"InstanceInformationList": [node("i-1"), node("i-2")]}
    ssm.stub.add_response("describe_instance_information", both, ids_filter("i-1", "i-2"))
    result = run_module(module, {"instance_ids": ["i-1", "i-2"], "wait": True})
    assert result["failed"] is False and result["not_online"] == []
    assert ssm.calls() == ["DescribeInstanceInformation"] and ssm.sleeps == []


def test_wait_reads_every_page_of_each_poll(ssm, run_module):
    # AWS pages DescribeInstanceInformation, and a page may be short: a waiter that read the first
    # page only would never count twelve nodes. The first read and the waiter's poll 1: 11 Online over
    # two pages; poll 2: all 12.
    ids = [f"i-{n}" for n in range(12)]
    for online in (11, 11, 12):
        listed = [node(i) for i in ids[:online]]
        ssm.stub.add_response(
            "describe_instance_information",
            {"InstanceInformationList": listed[:10], "NextToken": "p2"},
            ids_filter(*ids),
        )
        ssm.stub.add_response(
            "describe_instance_information", {"InstanceInformationList": listed[10:]}, ids_filter(*ids, token="p2")
        )
    ssm.stub.add_response(
        "describe_instance_information",
        {"InstanceInformationList": [node(i) for i in ids[:10]], "NextToken": "p2"},
        ids_filter(*ids),
    )
    ssm.stub.add_response(
        "describe_instance_information",
        {"InstanceInformationList": [node(i) for i in ids[10:]]},
        ids_filter(*ids, token="p2"),
    )
    result = run_module(module, {"instance_ids": ids, "wait": True, "wait_delay": 5})
    assert result["failed"] is False
    assert result["not_online"] == [] and len(result["managed_nodes"]) == 12
    assert ssm.sleeps == [5]


def test_wait_times_out_naming_the_missing_nodes_and_the_causes(ssm, run_module):
    # The first read, three polls of the waiter (30 s / 10 s), then the describe that names the missing node.
    for response in [{"InstanceInformationList": [node("i-1")]}] * 5:
        ssm.stub.add_response("describe_instance_information", response, ids_filter("i-1", "i-2"))
    result = run_module(module, {"instance_ids": ["i-1", "i-2"], "wait": True, "wait_timeout": 30, "wait_delay": 10})
    assert result["failed"] is True
    assert "1 of 2 nodes did not come Online" in result["msg"]
    assert "i-2" in result["msg"] and "AmazonSSMManagedInstanceCore" in result["msg"]
    assert result["not_online"] == ["i-2"]


def test_a_round_of_waiting_returns_how_far_it_got_without_failing(ssm, run_module):
    # fail_on_timeout false: a role waits in rounds (until), and each round says n of N.
    for response in [{"InstanceInformationList": [node("i-1")]}] * 5:
        ssm.stub.add_response("describe_instance_information", response, ids_filter("i-1", "i-2"))
    args = {"instance_ids": ["i-1", "i-2"], "wait": True, "wait_timeout": 30, "wait_delay": 10}
    args["fail_on_timeout"] = False
    result = run_module(module, args)
    assert not result.get("failed") and result["not_online"] == ["i-2"]
    assert result["progress"] == "1 of 2 nodes Online in Session Manager; not yet: i-2"


def test_all_online_says_so_and_no_ids_says_nothing(ssm, run_module):
    one = {"InstanceInformationList": [node("i-1")]}
    ssm.stub.add_response("describe_instance_information", one, ids_filter("i-1"))
    assert run_module(module, {"instance_ids": ["i-1"]})["progress"] == "1 of 1 nodes Online in Session Manager"
    ssm.stub.add_response("describe_instance_information", {"InstanceInformationList": []}, {"MaxResults": 50})
    assert "progress" not in run_module(module, {})


def test_wait_needs_instance_ids(ssm, run_module):
    result = run_module(module, {"wait": True})
    assert result["failed"] is True
    assert "needs instance_ids" in result["msg"]
    assert ssm.calls() == []
