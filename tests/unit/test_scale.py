"""bench/scale.py's pure parts: node counts, pairs from the validation report, the figures, the ratio, the files.

The runs themselves (labs of 2 and 8 node containers, timings) happen with `make scale`, never in the unit tests.
"""

import importlib.util
import json
import pathlib

import pytest
import yaml

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation import common
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation import pairs

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("bench_scale", ROOT / "bench" / "scale.py")
scale = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(scale)


def test_counts_are_taken_in_order_and_checked():
    assert scale.parse_counts("2,8") == [2, 8]
    assert scale.parse_counts(" 8, 2 ") == [8, 2]
    for wrong in ("", "2,x", "1,2", "2,65", "2,2"):
        with pytest.raises(ValueError):
            scale.parse_counts(wrong)
    assert scale.run_key(8, 0.0) == "n8" and scale.run_key(8, 0.3) == "n8-latency0.3"


def test_every_count_leaves_out_vllm_alike_and_can_buy_its_capacity_block():
    defaults = yaml.safe_load((ROOT / "roles" / "validation" / "defaults" / "main.yml").read_text())
    assert list(scale.VALIDATION_CHECKS) == [c for c in defaults["validation_checks"] if c != "vllm"]
    assert scale.playbook_options() == ("--skip-tags", "vllm")
    two, eight = scale.count_vars(2), scale.count_vars(8)
    assert two["cluster_instance_count"] == 2 and two["cluster_capacity_block_max_upfront_fee"] == 5000
    # the lab's p5 block costs at most 31.464 x 24 x 1.08 (about 815 USD) per node
    assert eight["cluster_capacity_block_max_upfront_fee"] >= 8 * 31.464 * 24 * 1.08
    assert two["validation_checks"] == eight["validation_checks"]


def ring_report(ping_rows, nixl_plan_status="run"):
    """A validation report as the validation role writes it: the ring checks built by its own code."""
    rows = [
        pairs._row(a, b, status, "why", {"largest_mb_per_s": 10.0 + i}, {})
        for i, (a, b, status) in enumerate(ping_rows)
    ]
    ping = pairs.ring_check(
        "fabric.pingpong", pairs.PINGPONG_TITLE, {"nodes": ["a", "b", "c"]}, rows, "largest_mb_per_s"
    )
    nixl = common.planned_check("nixl.transfer", pairs.NIXL_TITLE, {"status": "skipped", "reason": "no NIXL"})
    node = common.make_check("efa.pci", "EFA device", "skipped", "lab", node="a")
    return {"checks": [node, ping, nixl], "summary": {"status": "failed"}}


def test_pairs_tested_counts_the_pairs_each_ring_check_ran():
    report = ring_report([("a", "b", "passed"), ("b", "c", "passed"), ("c", "a", "failed")])
    assert scale.pairs_tested(report) == {
        "fabric.pingpong": {"tested": 3, "passed": 2, "status": "failed"},
        "nixl.transfer": {"tested": 0, "passed": 0, "status": "skipped"},
    }
    assert scale.pairs_tested({"checks": []})["nixl.transfer"] == {"tested": 0, "passed": 0, "status": "missing"}
    assert scale.pairs_tested(None)["fabric.pingpong"]["tested"] == 0


def test_cpu_figures_are_the_deltas_and_the_share_of_the_machine():
    before = {"user": 10.0, "system": 2.0, "lab_aws": 100.0, "nodes": None}
    after = {"user": 40.0, "system": 8.0, "lab_aws": 112.5, "nodes": 50.0}
    cpu = scale.cpu_figures(before, after, seconds=60.0, cpus=2)
    assert cpu["controller_seconds"] == 36.0
    assert (cpu["controller_user_seconds"], cpu["controller_system_seconds"]) == (30.0, 6.0)
    assert cpu["controller_cores"] == 0.6 and cpu["controller_share"] == 0.3
    assert cpu["lab_aws_seconds"] == 12.5 and cpu["nodes_seconds"] is None


def test_container_cpu_from_cgroup_v1_and_v2(tmp_path, monkeypatch):
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "abc").write_text("2500000000\n")
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "def").write_text("usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n")
    monkeypatch.setattr(
        scale, "CGROUP_FILES", ((str(tmp_path / "v1" / "{id}"), 1e-9), (str(tmp_path / "v2" / "{id}"), 1e-6))
    )
    assert scale.cgroup_cpu("abc") == pytest.approx(2.5)
    assert scale.cgroup_cpu("def") == pytest.approx(1.5)
    assert scale.cgroup_cpu("none") is None


def step(seconds, remote_tasks, controller, rc=0, sessions=20, calls=150):
    hosts = {f"i-{n}": {"remote_tasks": remote_tasks - n, "remote_seconds": 1.0} for n in range(3)}
    hosts["localhost"] = {"remote_tasks": 0, "remote_seconds": 0.0}
    return {
        "rc": rc,
        "seconds": seconds,
        "hosts": hosts,
        "calls": {"total": calls, "by_action": {"ssm:StartSession": sessions}},
        "cpu": {"controller_seconds": controller, "lab_aws_seconds": 3.0, "nodes_seconds": 40.0, "cpus": 2},
    }


def entry(nodes, configure, validate, latency=0.0, rc=0):
    return {
        "key": scale.run_key(nodes, latency),
        "nodes": nodes,
        "latency": latency,
        "steps": {
            "provision": {"rc": 0, "seconds": 50.0},
            "configure": step(configure, 30, configure / 2),
            "validate": step(validate, 7, validate / 4, rc=rc),
        },
        "pairs": {
            "fabric.pingpong": {"tested": 1 if nodes == 2 else nodes, "passed": 1 if nodes == 2 else nodes},
            "nixl.transfer": {"tested": 1 if nodes == 2 else nodes, "passed": 1 if nodes == 2 else nodes},
        },
    }


def results(*entries, nodes=(2, 8), latency=0.0):
    return {
        "schema": scale.SCHEMA,
        "started": "20260101T000000Z",
        "port": 5073,
        "nodes": list(nodes),
        "latency": latency,
        "left_out": scale.LEFT_OUT,
        "machine": {
            "cpus": 2,
            "memory_gib": 23.0,
            "docker": "20.10",
            "ansible_core": "ansible [core 2.19]",
            "python": "3.11",
            "commit": "abc",
            "worktree_dirty": False,
            "load_average": [0.1, 0.1, 0.1],
        },
        "other_containers_at_start": [],
        "other_containers_at_end": [],
        "runs": list(entries),
    }


def test_count_summary_takes_the_most_remote_tasks_of_a_host_per_playbook():
    summary = scale.count_summary(entry(8, 120.0, 40.0))
    assert summary["remote_tasks_per_host"] == {"configure": 30, "validate": 7}
    assert (summary["configure_seconds"], summary["validate_seconds"], summary["wall_seconds"]) == (120.0, 40.0, 160.0)
    assert summary["controller_cpu_seconds"] == {"configure": 60.0, "validate": 10.0, "total": 70.0}
    assert summary["controller_cores"] == pytest.approx(70 / 160, abs=1e-3)
    assert summary["controller_share"] == pytest.approx(70 / 320, abs=1e-4)
    assert summary["ssm_sessions"] == {"configure": 20, "validate": 20}
    assert summary["pairs_tested"] == {"fabric.pingpong": 8, "nixl.transfer": 8}
    assert summary["complete"] is True
    failed = scale.count_summary(entry(8, 120.0, 40.0, rc=2))
    assert failed["complete"] is False and failed["wall_seconds"] is None


def test_wall_ratio_is_the_largest_count_over_the_smallest():
    summaries = [scale.count_summary(entry(2, 100.0, 20.0)), scale.count_summary(entry(8, 130.0, 50.0))]
    assert scale.wall_ratio(summaries) == (1.5, {"largest": 8, "smallest": 2})
    assert scale.wall_ratio(summaries[::-1]) == (1.5, {"largest": 8, "smallest": 2})
    assert scale.wall_ratio(summaries[:1]) == (None, None)
    unfinished = [summaries[0], scale.count_summary(entry(8, 130.0, 50.0, rc=2))]
    assert scale.wall_ratio(unfinished) == (None, {"largest": 8, "smallest": 2})


def test_latest_has_what_scripts_read():
    r = results(
        entry(2, 100.0, 20.0),
        entry(8, 130.0, 50.0),
        entry(2, 300.0, 60.0, latency=0.3),
        entry(8, 330.0, 90.0, latency=0.3),
        latency=0.3,
    )
    data = scale.latest(r, "bench/results/scale-20260101T000000Z.json")
    assert data["nodes"] == [2, 8]
    assert data["wall_ratio_8_to_2"] == 1.5 and data["wall_ratio_counts"] == {"largest": 8, "smallest": 2}
    assert data["pairs_tested"] == {
        "2": {"fabric.pingpong": 1, "nixl.transfer": 1},
        "8": {"fabric.pingpong": 8, "nixl.transfer": 8},
    }
    assert data["remote_tasks_per_host"]["8"] == {"configure": 30, "validate": 7}
    assert data["wall_seconds"] == {"2": 120.0, "8": 180.0}
    assert data["counts"]["8"]["controller_cpu_seconds"]["total"] == 77.5
    assert data["with_latency"]["latency"] == 0.3
    assert data["with_latency"]["wall_ratio_8_to_2"] == pytest.approx(420 / 360, abs=1e-3)
    json.dumps(data)  # plain JSON, keys are strings
    assert scale.latest(results(entry(2, 100.0, 20.0), entry(8, 130.0, 50.0)), "x")["with_latency"] is None


def test_results_files_and_latest_after_every_run(tmp_path):
    done = results(entry(2, 100.0, 20.0), entry(3, 110.0, 25.0), nodes=(2, 3))
    written = scale.write_results(done, tmp_path)
    assert [p.name for p in written] == [
        "scale-20260101T000000Z.json",
        "scale-20260101T000000Z.md",
        "scale-latest.json",
    ]
    latest = json.loads((tmp_path / "scale-latest.json").read_text())
    assert latest["complete"] is True and latest["errors"] == {}
    assert latest["wall_ratio_8_to_2"] == pytest.approx(135 / 120, abs=1e-3)
    assert latest["wall_ratio_counts"] == {"largest": 3, "smallest": 2}
    assert latest["results"] == str(tmp_path / "scale-20260101T000000Z.json")

    # A count whose validate failed: latest is overwritten all the same, and says so.
    failed = entry(3, 110.0, 250.0, rc=2)
    failed["error"] = "validate: ansible-playbook playbooks/validate.yml failed (rc 2)"
    scale.write_results(results(entry(2, 100.0, 20.0), failed, nodes=(2, 3)), tmp_path)
    latest = json.loads((tmp_path / "scale-latest.json").read_text())
    assert latest["complete"] is False and latest["errors"] == {"n3": failed["error"]}
    assert latest["wall_ratio_8_to_2"] is None and latest["wall_seconds"] == {"2": 120.0, "3": None}
    assert latest["wall_ratio_by_playbook"] == {"configure": 1.1, "validate": None}
    assert latest["counts"]["3"]["configure_seconds"] == 110.0
    missing_latency_runs = results(entry(2, 100.0, 20.0), entry(3, 110.0, 25.0), nodes=(2, 3), latency=0.3)
    assert scale.complete(missing_latency_runs) is False


def test_markdown_of_a_complete_run():
    text = scale.markdown(results(entry(2, 100.0, 20.0), entry(8, 130.0, 50.0)))
    assert "## configure + validate by node count (no added latency)" in text
    assert "| 2 | 100.0 | 20.0 | 120.0 | 1.00x | 30 / 7 | 20 / 20 | 150 / 150 | 1 (1 passed) | 1 (1 passed) |" in text
    assert "| 8 | 130.0 | 50.0 | 180.0 | 1.50x |" in text
    assert "8 nodes took 1.50 times the wall time of 2 (within the goal of 1.5" in text
    assert "| 8 | configure | 130.0 | 65.0 | 0.50 | 25 % | 3.0 | 40.0 |" in text
    assert "--skip-tags vllm" in text and "Stopped early" not in text


def test_markdown_of_a_run_that_stopped_early():
    failed = entry(8, 130.0, 50.0, rc=2)
    failed["error"] = "validate: ansible-playbook playbooks/validate.yml failed (rc 2)"
    r = results(entry(2, 100.0, 20.0), failed)
    r["error"] = failed["error"]
    text = scale.markdown(r)
    assert "| 8 | 130.0 | 50.0 | - | - |" in text
    assert "times the wall time" not in text
    assert (
        "No configure + validate ratio: validate on 8 nodes failed or did not run. What passed on both took, on 8 "
        in text
    )
    assert "against 2: configure 1.30 times." in text
    assert "**n8:** validate: ansible-playbook" in text
    assert text.rstrip().endswith("failed (rc 2)")
