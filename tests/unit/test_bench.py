"""bench/run.py's pure parts: the task table, the latency estimate and the Markdown.

The benchmark itself (labs, playbooks, timings) runs with `make bench`, never in the unit tests.
"""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)


def row(host, task, invocations=1, seconds=1.0, remote=True, status="ok", retries=0, role="efa"):
    return {
        "play": "p",
        "role": role,
        "task": task,
        "action": "ansible.builtin.copy",
        "host": host,
        "status": status,
        "remote": remote,
        "invocations": invocations,
        "retries": retries,
        "seconds": seconds,
    }


def test_task_table_groups_hosts_and_leaves_out_what_did_not_run_remotely():
    rows = [
        row("a", "Fact", seconds=1.0, status="changed"),
        row("b", "Fact", seconds=2.0),
        row("a", "Loop", invocations=3, seconds=3.0),
        row("a", "Skipped", invocations=0, status="skipped"),
        row("a", "set_fact", remote=False),
    ]
    table = bench.task_table(rows)
    assert [t["task"] for t in table] == ["Loop", "Fact"]
    fact = table[1]
    assert (fact["invocations"], fact["hosts"], fact["seconds"], fact["changed"]) == (2, 2, 3.0, 1)
    assert bench.by_role(table) == {"efa": {"invocations": 5, "seconds": 6.0}}


def test_calls_keep_the_top_actions_first():
    calls = bench.summarize_calls({"total": 6, "by_action": {"ec2:B": 1, "ec2:A": 3, "s3:GET": 2}})
    assert calls["total"] == 6 and calls["top"][0] == ("ec2:A", 3)
    assert bench.top_calls(calls, 2) == "ec2:A 3, s3:GET 2"


def run(step, hosts, seconds=10.0, rc=0, changed=0, tasks=None):
    return {
        "step": step,
        "rc": rc,
        "seconds": seconds,
        "changed": changed,
        "hosts": hosts,
        "tasks": tasks or [],
        "calls": bench.summarize_calls({"total": 9, "by_action": {"ssm:StartSession": 4, "ec2:DescribeInstances": 5}}),
    }


def results(**runs):
    return {
        "started": "20260101T000000Z",
        "port": 5071,
        "latency": 0.3,
        "machine": {
            "cpus": 2,
            "docker": "20.10",
            "ansible_core": "ansible [core 2.19]",
            "python": "3.11",
            "commit": "abc",
            "worktree_dirty": False,
            "load_average": [0.1, 0.1, 0.1],
        },
        "other_containers_at_start": [],
        "other_containers_at_end": [],
        "nodes": {"i-1": "node0 (prefill+mlflow)", "i-2": "node1 (decode)"},
        "runs": runs,
    }


def hosts(per_task):
    return {
        h: {"remote_tasks": 10, "remote_seconds": 10 * per_task, "seconds_per_remote_task": per_task, "changed": 0}
        for h in ("i-1", "i-2")
    }


def test_latency_lines_is_the_extra_seconds_per_task_over_the_latency():
    r = results(configure_rerun=run("configure_rerun", hosts(2.0)), configure_rerun_latency=run("x", hosts(9.5)))
    assert bench.latency_lines(r) == pytest.approx(25.0)
    assert bench.latency_lines(results(configure_rerun=run("configure_rerun", hosts(2.0)))) is None


def test_markdown_of_a_complete_run():
    tasks = [dict(row("i-1", "Wait for health", invocations=4, retries=3, role="mlflow"), hosts=1, changed=0)]
    r = results(
        provision_first=run("provision_first", {}, seconds=40.0, changed=18),
        provision_rerun=run("provision_rerun", {}, seconds=30.0),
        configure_full=run("configure_full", hosts(4.0), tasks=tasks),
        configure_rerun=run("configure_rerun", hosts(2.0)),
    )
    r["nixl"] = {"status": "passed", "gbps": 2.0, "memcpy_gbps": 10.0, "share_of_memcpy": 0.2, "reason": "a -> b"}
    r["ssm_anatomy"] = {"sessions": 1, "commands": 6, "command_heads": ["echo ~", "mkdir"], "file_transfers": 1}
    text = bench.markdown(r)
    assert "| re-run | 30.0 | 75% | 0 | 9 |" in text
    assert "| full install, fresh nodes | 10.0 | node0 (prefill+mlflow) | 10 | 40.0 | 4.00 | 0 | 4 | - | 9 |" in text
    assert "| validate run 1 | passed | 2.0 | - | - | 10.0 | - | 20.0 % |" in text
    assert "| median |" not in text
    assert "| full install, fresh nodes | mlflow | Wait for health | ansible.builtin.copy | 4 | 1 | 3 |" in text
    assert "6 shell commands" in text and "Stopped early" not in text


def test_nixl_median_over_the_validate_runs():
    runs = [
        {"status": "passed", "gbps": 2.0, "memcpy_gbps": 10.0, "share_of_memcpy": 0.2},
        {"status": "passed", "gbps": 3.0, "memcpy_gbps": 6.0, "share_of_memcpy": 0.5},
        {"status": "failed", "reason": "x"},
    ]
    summary = bench.nixl_median(runs)
    assert (summary["runs"], summary["passed"]) == (3, 2)
    assert (summary["gbps"], summary["memcpy_gbps"], summary["share_of_memcpy"]) == (2.5, 8.0, 0.35)
    assert summary["gbps_first"] is None
    r = results()
    r["nixl_runs"], r["nixl"] = runs, summary
    text = bench.markdown(r)
    assert "| validate run 3 | failed | - | - | - | - | - | - |" in text
    assert "| median | 2 of 3 passed | 2.5 | - | - | 8.0 | - | 35.0 % |" in text


def test_markdown_of_a_run_that_stopped_early():
    r = results(provision_first=run("provision_first", {}, rc=2))
    r["error"] = "provision_first: ansible-playbook playbooks/provision.yml failed (rc 2)"
    text = bench.markdown(r)
    assert "| first run (FAILED, rc 2) |" in text
    assert text.rstrip().endswith("failed (rc 2)")
