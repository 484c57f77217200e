# -*- coding: utf-8 -*-
"""The play_summary callback's accounting: what counts as a remote task, per-play counts, the table."""

import pytest

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import PlaySummary
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import async_invocations
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import host_totals
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import is_remote
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import render_table


@pytest.mark.parametrize(
    ("host", "action", "delegated", "connection", "remote"),
    [
        ("i-0a", "ansible.builtin.command", None, "amazon.aws.aws_ssm", True),
        ("i-0a", "nixl_efa.cluster.efa_node_info", None, None, True),
        ("i-0a", "ansible.builtin.set_fact", None, None, False),
        ("i-0a", "debug", None, None, False),
        ("i-0a", "ansible.legacy.assert", None, None, False),
        ("i-0a", "ansible.builtin.copy", "localhost", None, False),
        ("i-0a", "ansible.builtin.uri", "127.0.0.1", None, False),
        ("localhost", "amazon.aws.ec2_vpc_net", None, None, False),
        ("i-0a", "ansible.builtin.command", None, "local", False),
        ("i-0a", "ansible.builtin.command", "i-0b", None, True),
    ],
)
def test_what_is_a_remote_task(host, action, delegated, connection, remote):
    assert is_remote(host, action, delegated_to=delegated, connection=connection) is remote


def test_counts_per_play_and_host_with_loop_items_and_retries_as_invocations():
    summary = PlaySummary()
    summary.start_play("Configure", 100.0)
    summary.result("i-0a", "ok", remote=True, seconds=2.0, ended=102.0, role="efa", task="Read", action="efa_node_info")
    summary.result("i-0a", "changed", remote=True, seconds=1.0, ended=103.0, items=3, task="Dirs", action="file")
    summary.result("i-0a", "ok", remote=False, seconds=0.1, ended=103.1, task="Record", action="set_fact")
    summary.result("i-0a", "skipped", remote=True, seconds=0.0, ended=103.2, items=0, task="Skipped")
    summary.result("i-0a", "ok", remote=True, seconds=3.0, ended=106.0, retries=2, task="Wait", action="uri")
    summary.result("i-0b", "failed", remote=True, seconds=4.0, ended=107.5)
    summary.start_play("Validate", 110.0)
    summary.result("i-0b", "unreachable", remote=True, seconds=1.5, ended=111.5)

    data = summary.as_dict()
    configure, validate = data["plays"]
    assert configure["name"] == "Configure" and configure["seconds"] == 7.5
    assert configure["changed"] == 1 and configure["failed"] == 1
    # 1 + 3 loop items + (1 + 2 retries); the set_fact and the skipped task ran nothing there.
    assert configure["hosts"]["i-0a"] == {
        "ok": 3, "changed": 1, "failed": 0, "skipped": 1, "unreachable": 0,
        "remote_tasks": 7, "remote_seconds": 6.0,
    }  # fmt: skip
    assert configure["hosts"]["i-0b"]["remote_tasks"] == 1
    assert validate["failed"] == 1 and validate["changed"] == 0 and validate["seconds"] == 1.5

    rows = {row["task"]: row for row in data["tasks"] if row["host"] == "i-0a"}
    assert rows["Read"] == {
        "play": "Configure", "role": "efa", "task": "Read", "action": "efa_node_info", "host": "i-0a",
        "status": "ok", "remote": True, "invocations": 1, "retries": 0, "seconds": 2.0,
    }  # fmt: skip
    assert rows["Dirs"]["invocations"] == 3
    assert rows["Wait"]["invocations"] == 3 and rows["Wait"]["retries"] == 2
    assert rows["Record"]["invocations"] == 0 and rows["Skipped"]["invocations"] == 0
    assert len(data["tasks"]) == 7


def test_a_loop_of_one_item_or_none_counts_once():
    summary = PlaySummary()
    summary.start_play("p", 0.0)
    summary.result("n", "ok", remote=True, seconds=1.0, ended=1.0, items=1)
    summary.result("n", "ok", remote=True, seconds=1.0, ended=2.0, items=0)
    assert summary.as_dict()["plays"][0]["hosts"]["n"]["remote_tasks"] == 2


def test_results_before_any_play_are_kept_in_an_unnamed_play():
    summary = PlaySummary()
    summary.result("n", "ok", remote=False, seconds=0.0, ended=0.0)
    assert summary.as_dict()["plays"][0]["name"] == ""


def test_table_has_a_row_per_play_and_remote_tasks_per_host():
    summary = PlaySummary()
    summary.start_play("Provision the cluster", 0.0)
    summary.result("localhost", "changed", remote=False, seconds=1.0, ended=40.0)
    summary.start_play("Configure", 40.0)
    for task in range(4):
        summary.result("i-0a", "ok", remote=True, seconds=1.5, ended=47.0 + task)
    summary.start_play("Configure again", 50.0)
    summary.result("i-0a", "ok", remote=True, seconds=2.0, ended=52.0)
    lines = render_table(summary.as_dict()).splitlines()
    assert lines[0].split() == ["Play", "Hosts", "ok", "changed", "failed", "skipped", "seconds"]
    assert lines[2].split() == ["Provision", "the", "cluster", "1", "0", "1", "0", "0", "40.0"]
    assert lines[3].split() == ["Configure", "1", "4", "0", "0", "0", "10.0"]
    # Remote tasks summed over the plays: 5 tasks, 8 seconds, 1.6 s each; localhost did none.
    assert lines[-1].split() == ["i-0a", "5", "8.0", "1.60"]
    assert not any(line.startswith("localhost") for line in lines)


def test_table_without_remote_tasks_has_no_host_section():
    summary = PlaySummary()
    summary.start_play("Provision", 0.0)
    summary.result("localhost", "ok", remote=False, seconds=1.0, ended=1.0)
    assert "remote tasks" not in render_table(summary.as_dict())


def test_host_totals_add_up_the_plays_with_items_and_retries():
    summary = PlaySummary()
    summary.start_play("one", 0.0)
    summary.result("a", "changed", remote=True, seconds=2.0, ended=1.0, items=3)
    summary.result("a", "ok", remote=True, seconds=6.0, ended=2.0)
    summary.result("b", "skipped", remote=True, seconds=0.0, ended=3.0)
    summary.start_play("two", 10.0)
    summary.result("a", "ok", remote=True, seconds=1.0, ended=11.0, retries=1)
    hosts = host_totals(summary.as_dict())
    assert hosts["a"]["remote_tasks"] == 6 and hosts["a"]["remote_seconds"] == 9.0
    assert hosts["a"]["seconds_per_remote_task"] == 1.5 and hosts["a"]["changed"] == 1 and hosts["a"]["ok"] == 2
    assert hosts["b"]["remote_tasks"] == 0 and hosts["b"]["skipped"] == 1
    assert hosts["b"]["seconds_per_remote_task"] is None


def test_file_tasks_count_their_stat_and_async_tasks_their_polls_and_cleanup():
    summary = PlaySummary()
    summary.start_play("files", 0.0)
    common = dict(remote=True, seconds=1.0, ended=2.0)
    summary.result("node-0", "ok", action="ansible.builtin.template", **common)  # stat + file
    summary.result("node-0", "changed", action="ansible.builtin.copy", items=3, **common)  # 3 x (stat + copy)
    summary.result("node-0", "ok", action="ansible.builtin.copy", retries=1, **common)  # 2 tries x 2
    summary.result("node-0", "skipped", action="ansible.builtin.copy", **common)  # did not run
    # async with poll: the launch, 4 reported polls, the last poll and the cleanup
    calls = async_invocations(4, finished=True)
    summary.result("node-0", "changed", action="ansible.builtin.command", async_calls=calls, **common)
    # timed out: the launch and every poll, all reported, no cleanup
    timed_out = async_invocations(5, finished=False)
    summary.result("node-0", "failed", action="ansible.builtin.command", async_calls=timed_out, **common)
    hosts = summary.as_dict()["plays"][0]["hosts"]
    assert hosts["node-0"]["remote_tasks"] == 2 + 6 + 4 + 0 + (1 + 6) + (1 + 5)
    rows = [row["invocations"] for row in summary.as_dict()["tasks"]]
    assert rows == [2, 6, 4, 0, 7, 6]
    assert async_invocations(0, finished=True) == 2
