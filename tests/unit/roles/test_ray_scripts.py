"""The scripts the ray role runs on the nodes (roles/ray/files/).

ray_verify.py's pure parts (the --expect parsing, matching ALIVE nodes to the expected addresses,
the message naming missing nodes) and its whole flow against a fake `ray` module (no Ray here).
The role's probe is nixl_efa.cluster.service_node_info (tests/unit/plugins/). The real cluster is
exercised by molecule/ray.
"""

import importlib.util
import io
import json
import pathlib
import sys
import types

import pytest
from fake_clock import FakeClock

FILES = pathlib.Path(__file__).resolve().parents[3] / "roles" / "ray" / "files"


def load(name):
    spec = importlib.util.spec_from_file_location(f"ray_role_{name}", FILES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verify = load("ray_verify")

EXPECTED = {"node-0": "10.0.0.1", "node-1": "10.0.0.2"}


def node(ip, node_id, alive=True):
    return {"NodeManagerAddress": ip, "NodeID": node_id, "Alive": alive}


# --- pure parts -------------------------------------------------------------------------------


def test_parse_expect():
    assert verify.parse_expect(["a=10.0.0.1", " b = 10.0.0.2 "]) == {"a": "10.0.0.1", "b": "10.0.0.2"}
    assert verify.parse_expect(["10.0.0.3"]) == {"10.0.0.3": "10.0.0.3"}
    with pytest.raises(ValueError, match="twice"):
        verify.parse_expect(["a=1.1.1.1", "a=1.1.1.2"])
    with pytest.raises(ValueError, match="NAME=IP"):
        verify.parse_expect(["a="])


def test_alive_by_ip_ignores_dead_nodes():
    nodes = [node("10.0.0.1", "old", alive=False), node("10.0.0.1", "new"), node("10.0.0.2", "w", alive=False)]
    assert verify.alive_by_ip(nodes) == {"10.0.0.1": "new"}


def test_match_nodes():
    found, missing, unexpected = verify.match_nodes(EXPECTED, {"10.0.0.1": "h", "10.0.0.9": "x"})
    assert found == {"node-0": "h"}
    assert missing == ["node-1"]
    assert unexpected == ["10.0.0.9"]


def test_message_names_the_missing_nodes():
    report = verify.new_report("10.0.0.1:6379", EXPECTED)
    report.update(alive=1, missing=["node-1"])
    text = verify.message(report)
    assert "1 node(s) ALIVE, 2 expected" in text
    assert "not ALIVE: node-1 (10.0.0.2)" in text


def test_message_for_a_failed_task_and_an_error():
    report = verify.new_report("h:6379", EXPECTED)
    report.update(alive=2, missing=[])
    report["nodes"]["node-0"]["ok"] = True
    report["nodes"]["node-1"]["error"] = "GetTimeoutError: slow"
    assert verify.message(report) == "Ray cluster at h:6379: the pinned task failed on node-1: GetTimeoutError: slow"
    report["error"] = "cannot connect: ConnectionError: refused"
    assert verify.message(report) == "Ray cluster at h:6379: cannot connect: ConnectionError: refused"


# --- the flow, against a fake ray -------------------------------------------------------------


class Strategy:
    def __init__(self, node_id, soft):
        self.node_id = node_id
        self.soft = soft


def fake_ray(nodes_sequence, init_failures=0, wrong_node=None, task_error=None):
    """A `ray` module: ray.nodes() answers each list of nodes_sequence in turn (the last one
    repeats); tasks "run" on the node their strategy names (or wrong_node's id for that one)."""
    ray = types.ModuleType("ray")
    state = {"init": [], "init_failures": init_failures, "nodes": list(nodes_sequence), "shutdown": 0, "remote": []}

    def init(**kwargs):
        state["init"].append(kwargs)
        if state["init_failures"]:
            state["init_failures"] -= 1
            raise ConnectionError("GCS not ready")

    def nodes():
        return state["nodes"].pop(0) if len(state["nodes"]) > 1 else state["nodes"][0]

    class Remote:
        def __init__(self, fn, kwargs):
            self.fn = fn
            self.kwargs = kwargs

        def options(self, scheduling_strategy):
            assert isinstance(scheduling_strategy, Strategy)
            assert scheduling_strategy.soft is False
            return types.SimpleNamespace(remote=lambda: scheduling_strategy.node_id)

    def remote(**kwargs):
        def wrap(fn):
            state["remote"].append(kwargs)
            return Remote(fn, kwargs)

        return wrap

    def get(ref, timeout):
        assert timeout == 30
        if task_error and ref == task_error:
            raise TimeoutError("task did not finish")
        ran_on = "elsewhere" if ref == wrong_node else ref
        return {"node_id": ran_on, "ip": "x", "hostname": "h", "pid": 1, "python": "3.11", "ray": "2.60.0"}

    def shutdown():
        state["shutdown"] += 1

    ray.init, ray.nodes, ray.remote, ray.get, ray.shutdown = init, nodes, remote, get, shutdown
    util = types.ModuleType("ray.util")
    strategies = types.ModuleType("ray.util.scheduling_strategies")
    strategies.NodeAffinitySchedulingStrategy = Strategy
    util.scheduling_strategies = strategies
    ray.util = util
    ray.state = state
    return ray, {"ray": ray, "ray.util": util, "ray.util.scheduling_strategies": strategies}


@pytest.fixture
def install_fake(monkeypatch):
    def install(*args, **kwargs):
        ray, modules = fake_ray(*args, **kwargs)
        for name, module in modules.items():
            monkeypatch.setitem(sys.modules, name, module)
        return ray

    return install


def run_check(ray, timeout=10):
    clock = FakeClock()
    report = verify.new_report("10.0.0.1:6379", EXPECTED)
    verify.check(ray, report, EXPECTED, "10.0.0.1", timeout, 30, clock=clock, sleep=clock.sleep)
    report["message"] = verify.message(report)
    return report, clock


def test_check_waits_for_the_worker_then_runs_a_task_on_each(install_fake):
    both = [node("10.0.0.1", "h"), node("10.0.0.2", "w")]
    ray = install_fake([[node("10.0.0.1", "h")], [node("10.0.0.1", "h")], both], init_failures=2)
    report, clock = run_check(ray)
    assert report["ok"], report
    assert report["alive"] == 2 and report["missing"] == [] and report["unexpected"] == []
    assert report["nodes"]["node-1"]["node_id"] == "w"
    assert report["nodes"]["node-1"]["result"]["node_id"] == "w"
    assert ray.state["init"][0] == {
        "address": "10.0.0.1:6379",
        "log_to_driver": False,
        "logging_level": "WARNING",
        "_node_ip_address": "10.0.0.1",
    }
    assert ray.state["remote"] == [{"num_cpus": 0, "max_retries": 0}]
    assert ray.state["shutdown"] == 1
    assert clock.now == 4.0  # two failed connects, two polls without the worker
    assert report["message"].endswith("2 node(s) ALIVE, a task ran on each in 4.0 s")


def test_check_reports_the_missing_node_after_the_timeout(install_fake):
    ray = install_fake([[node("10.0.0.1", "h"), node("10.0.0.2", "w", alive=False), node("10.0.0.7", "x")]])
    report, clock = run_check(ray, timeout=5)
    assert not report["ok"]
    assert report["missing"] == ["node-1"]
    assert report["unexpected"] == ["10.0.0.7"]
    assert report["nodes"]["node-0"]["alive"] and not report["nodes"]["node-1"]["alive"]
    assert clock.now == 5.0
    assert "not ALIVE: node-1 (10.0.0.2)" in report["message"]


def test_check_fails_a_task_that_ran_elsewhere_or_not_at_all(install_fake):
    ray = install_fake([[node("10.0.0.1", "h"), node("10.0.0.2", "w")]], wrong_node="w")
    report, _clock = run_check(ray)
    assert not report["ok"]
    assert report["nodes"]["node-0"]["ok"]
    assert report["nodes"]["node-1"]["error"] == "ran on node elsewhere (x), not on w"

    ray = install_fake([[node("10.0.0.1", "h"), node("10.0.0.2", "w")]], task_error="h")
    report, _clock = run_check(ray)
    assert report["nodes"]["node-0"]["error"] == "TimeoutError: task did not finish"
    assert "the pinned task failed on node-0" in report["message"]


def test_check_gives_up_connecting(install_fake):
    ray = install_fake([[]], init_failures=100)
    report, clock = run_check(ray, timeout=3)
    assert not report["ok"]
    assert report["error"] == "cannot connect: ConnectionError: GCS not ready"
    assert report["message"] == "Ray cluster at 10.0.0.1:6379: cannot connect: ConnectionError: GCS not ready"
    assert clock.now == 3.0


def test_main_prints_one_json_object(install_fake, capfd):
    install_fake([[node("10.0.0.1", "h"), node("10.0.0.2", "w")]])
    out = io.StringIO()
    argv = ["--address", "10.0.0.1:6379", "--node-ip", "10.0.0.1", "--task-timeout", "30"]
    argv += ["--expect=node-0=10.0.0.1", "--expect", "node-1=10.0.0.2"]
    assert verify.main(argv, out=out) == 0
    report = json.loads(out.getvalue())
    assert report["ok"] and report["expected"] == 2
    assert capfd.readouterr().out == ""


def test_main_reports_a_missing_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    out = io.StringIO()
    assert verify.main(["--address", "h:1", "--expect", "a=h"], out=out) == 0
    report = json.loads(out.getvalue())
    assert not report["ok"]
    assert report["error"].startswith("ModuleNotFoundError")


def test_main_refuses_bad_arguments():
    with pytest.raises(SystemExit) as exc:
        verify.main(["--address", "h:1"], out=io.StringIO())
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        verify.main(["--address", "h:1", "--expect", "a=h", "--expect", "a=i"], out=io.StringIO())
