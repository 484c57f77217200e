"""Validation as a ring over all nodes: the plan for 1, 2, 3 and 8 nodes and with nodes left out,
the command lines each node runs (plugins/plugin_utils/validation/commands.py), the results gathered
from the hosts, and the report's row per pair with the slowest pair named (Markdown and MLflow).
"""

import copy
import json
import shlex

import pytest

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import nccl_command
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import nixl_command
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import pingpong_argv
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import run_seed
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plan import ring
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plan import validation_plan
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_markdown
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_mlflow_batch
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import validation_report
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import validation_results
from tests.unit.plugins.plugin_utils.test_validation import INITIATOR_OK
from tests.unit.plugins.plugin_utils.test_validation import LAB_CLIENT
from tests.unit.plugins.plugin_utils.test_validation import REFUSED
from tests.unit.plugins.plugin_utils.test_validation import TARGET_OK
from tests.unit.plugins.plugin_utils.test_validation import data
from tests.unit.plugins.plugin_utils.test_validation import node

SETTINGS = {
    "fabric_provider": "efa",
    "pingpong_endpoint": "rdm",
    "pingpong_iterations": 100,
    "pingpong_sizes": "",
    "pingpong_port": 47592,
    "pingpong_timeout": 60,
    "nixl_port": 47594,
    "nixl_size_mib": 64,
    "nixl_iterations": 5,
    "nixl_timeout": 120,
    "nccl_port": 29511,
    "nccl_size_mib": 256,
    "nccl_min_size_mib": 1,
    "nccl_iterations": 20,
    "nccl_timeout": 300,
    "nccl_backend": "nccl",
}


def cluster(count, **kwargs):
    d = data([node(f"n{i}", i, **kwargs) for i in range(count)], stamp="20261206T131425Z")
    d["settings"].update(SETTINGS)
    return d


# --- the ring ------------------------------------------------------------------------------


def test_ring_shapes():
    assert ring([]) == [] and ring(["a"]) == []
    assert ring(["a", "b"]) == [("a", "b")]
    assert ring("abc") == [("a", "b"), ("b", "c"), ("c", "a")]


@pytest.mark.parametrize("count", [3, 8])
def test_every_node_serves_one_pair_and_connects_in_the_next(count):
    plan = validation_plan(cluster(count))
    names = [f"n{i}" for i in range(count)]
    for name, key_first, key_second in (("pingpong", "server", "client"), ("nixl", "initiator", "target")):
        entry = plan[name]
        assert entry["status"] == "run" and entry["left_out"] == [] and entry["nodes"] == names
        assert [(p[key_first], p[key_second]) for p in entry["pairs"]] == [
            (names[i], names[(i + 1) % count]) for i in range(count)
        ]
    pp = plan["pingpong"]
    assert sorted(pp["servers"]) == sorted(pp["clients"]) == names
    # Each node: one server (bound to the single port) and one client, to the next node's server.
    for i, name in enumerate(names):
        entry = pp["node"][name]
        assert entry["client"] == names[(i + 1) % count] and entry["server"] == names[i - 1]
        assert entry["server_argv"][-2:] == ["-B", "47592"]
        assert entry["client_argv"][-3:] == ["-P", "47592", f"10.0.200.{10 + i - 1 if i else 10 + count - 1}"]
    nx = plan["nixl"]
    for i, name in enumerate(names):
        assert nx["node"][name]["initiator_cmd"].endswith(f"--role initiator --ip 10.0.200.{10 + (i + 1) % count}")
        assert nx["node"][name]["target_cmd"].endswith("--role target")
    assert plan["nccl"]["status"] != "run" or plan["nccl"]["nodes"] == names


@pytest.mark.parametrize(("stride", "count"), [(0, 3), (4, 3), (4, 8)])
def test_each_node_serves_on_its_own_ports_with_a_stride(stride, count):
    """validation_port_stride: node i's servers listen on the ports + stride x i (the lab's nodes share one network
    stack); 0, AWS's case, gives every node the same ports. Clients connect to their server's port."""
    d = cluster(count)
    d["settings"]["port_stride"] = stride
    plan = validation_plan(d)
    pp, nx = plan["pingpong"], plan["nixl"]
    for i in range(count):
        server, client = f"n{i}", f"n{(i + 1) % count}"
        assert pp["node"][server]["server_argv"][-2:] == ["-B", str(47592 + stride * i)]
        assert pp["node"][client]["client_argv"][-3:-1] == ["-P", str(47592 + stride * i)]
        target, initiator = f"n{(i + 1) % count}", f"n{i}"
        port = SETTINGS["nixl_port"] + stride * ((i + 1) % count)
        for command in (nx["node"][target]["target_cmd"], nx["node"][initiator]["initiator_cmd"]):
            assert f"--port {port} --tcp-port {port + 1} " in command
    ports = [p["port"] for p in pp["pairs"]] + [q for p in nx["pairs"] for q in (p["port"], p["tcp_port"])]
    # With a stride of 4 (the lab's) no two servers on the shared stack take the same port.
    assert len(set(ports)) == (len(ports) if stride else 3)


def test_one_node_has_no_ring():
    plan = validation_plan(cluster(1))
    for name in ("pingpong", "nixl"):
        assert plan[name] == {"status": "skipped", "reason": "needs two nodes in the play, found 1"}


def test_a_node_left_out_closes_the_ring_over_the_others():
    d = cluster(4)
    d["nodes"][2]["reachable"] = False
    d["nodes"][3]["probe"]["fi_info"].update(rc=61, matched=0)
    plan = validation_plan(d)
    pp, nx = plan["pingpong"], plan["nixl"]
    # Two left out of fi_pingpong: the two others are one pair, as in a two-node cluster.
    assert pp["pairs"] == [{"server": "n0", "client": "n1", "server_ip": "10.0.200.10", "port": 47592}]
    assert pp["left_out"] == [
        {"node": "n2", "reason": "node n2 is unreachable"},
        {"node": "n3", "reason": "fi_info -p efa failed on n3 (see that check)"},
    ]
    assert "n2 left out: node n2 is unreachable" in pp["reason"]
    # NIXL does not need fi_info: n3 takes part.
    assert [(p["initiator"], p["target"]) for p in nx["pairs"]] == [("n0", "n1"), ("n1", "n3"), ("n3", "n0")]
    assert nx["left_out"] == [{"node": "n2", "reason": "node n2 is unreachable"}]
    assert set(nx["node"]) == {"n0", "n1", "n3"}


def test_too_few_nodes_left_skips_with_every_reason():
    d = cluster(3)
    d["nodes"][0]["reachable"] = False
    d["nodes"][1]["probe"] = {"error": "efa_node_info failed"}
    plan = validation_plan(d)
    assert plan["pingpong"] == {
        "status": "skipped",
        "reason": "node n0 is unreachable; the probe of node n1 failed",
    }


def test_missing_nixl_fact_on_any_node_fails_the_ring():
    d = cluster(3)
    d["nodes"][2]["probe"]["facts"] = {}
    nixl = validation_plan(d)["nixl"]
    assert nixl["status"] == "failed" and nixl["context"] == {"node": "n2"}


# --- command lines -------------------------------------------------------------------------


def test_pingpong_argv_server_and_client():
    assert pingpong_argv(SETTINGS, "server") == (
        ["timeout", "-k", "5", "60", "fi_pingpong", "-p", "efa", "-e", "rdm", "-I", "100", "-B", "47592"]
    )
    client = pingpong_argv(dict(SETTINGS, pingpong_sizes="64,1m"), "client", "10.0.0.5")
    assert client[-5:] == ["-S", "64,1m", "-P", "47592", "10.0.0.5"]
    with pytest.raises(ValueError):
        pingpong_argv(SETTINGS, "both")


def test_nixl_command_quotes_every_value():
    node_entry = {"python": "/opt/my venv/bin/python", "module": "nixl_cu12", "env_file": "/etc/nixl's env"}
    cmd = nixl_command(SETTINGS, node_entry, "LIBFABRIC", "20261206T131425Z", "initiator", "10.0.0.6")
    assert cmd.startswith("if [ -r '/etc/nixl'\"'\"'s env' ]; then set -a; . '/etc/nixl'\"'\"'s env'; set +a; fi; ")
    words = shlex.split(cmd.split("fi; ", 1)[1])
    assert words == [
        "exec", "/opt/my venv/bin/python", "-", "--module", "nixl_cu12", "--backend", "LIBFABRIC",
        "--port", "47594", "--tcp-port", "47595", "--size-mib", "64", "--iterations", "5", "--timeout", "120",
        "--seed", "20261206131425", "--role", "initiator", "--ip", "10.0.0.6",
    ]  # fmt: skip
    target = nixl_command(SETTINGS, {}, "UCX", "", "target")
    assert target.startswith("exec python3 - --module nixl_cu12 --backend UCX") and "--ip" not in target
    assert run_seed("") == 0


def test_nccl_command_master_and_worker():
    entry = {"procs": 8, "torchrun": "/opt/venv/bin/torchrun", "python": "/opt/venv/bin/python3", "env_file": ""}
    master = nccl_command(SETTINGS, entry, "10.0.0.1", 3, True, "10.0.0.1", "20261206T131425Z")
    assert master.startswith("script=$(cat); exec timeout -k 10 300 /opt/venv/bin/torchrun --nnodes=3")
    words = shlex.split(master.split("; ", 1)[1])
    assert "--rdzv-endpoint=10.0.0.1:29511" in words and "--rdzv-conf=is_host=true" in words
    assert "--rdzv-id=nixl-efa-20261206T131425Z" in words and "--nproc-per-node=8" in words
    assert words[words.index("-c") + 1] == "$script"  # expanded by bash, not by a quote
    # The tensor's size, and the sweep from 1 MiB up for the bus bandwidth by message size.
    assert words[words.index("--size-mib") + 1] == "256" and words[words.index("--min-size-mib") + 1] == "1"
    worker = nccl_command(SETTINGS, dict(entry, env_file="/etc/nccl.sh"), "10.0.0.1", 3, False, "10.0.0.2", "x")
    assert worker.startswith("if [ -r /etc/nccl.sh ]; then set -a; . /etc/nccl.sh; set +a; fi; script=$(cat);")
    assert "--rdzv-conf=is_host=false" in worker and "--local-addr=10.0.0.2" in worker


def test_no_credential_reaches_a_command_line():
    d = cluster(3, gpus=1, torchrun="/opt/venv/bin/torchrun")
    d["settings"]["mlflow_password"] = "s3cret"
    assert "s3cret" not in json.dumps(validation_plan(d))


# --- results and report --------------------------------------------------------------------


def slow(text, factor):
    """LAB_CLIENT with the 1 MiB bandwidth divided by factor."""
    return text.replace("3976.17", f"{3976.17 / factor:.2f}")


def registers(plan, pp_client=None, nixl_initiator=None):
    """What each host registered, as Ansible's hostvars holds it."""
    hostvars = {}
    for name in plan["nodes"]:
        hostvars[name] = {
            "validation__pp_server_job": {"ansible_job_id": f"j-{name}"},
            "validation__pp_server": {"finished": 1, "rc": 0, "stdout": LAB_CLIENT},
            "validation__pp_client": (pp_client or {}).get(name, {"rc": 0, "stdout": LAB_CLIENT, "attempts": 1}),
            "validation__nixl_target": {"finished": 1, "rc": 0, "stdout": json.dumps(TARGET_OK)},
            "validation__nixl_initiator": (nixl_initiator or {}).get(
                name, {"rc": 0, "stdout": json.dumps(INITIATOR_OK)}
            ),
        }
    return hostvars


def report_of(d, **kwargs):
    d = copy.deepcopy(d)
    d["plan"] = validation_plan(d)
    d["results"] = validation_results(d["plan"], registers(d["plan"]["pingpong"], **kwargs))
    return validation_report(d)


def by_id(report):
    return {(c["id"], c["node"]): c for c in report["checks"]}


def test_results_follow_the_plan_pairs():
    plan = validation_plan(cluster(3))
    hostvars = registers(plan["pingpong"], pp_client={"n2": {"rc": 111}})
    results = validation_results(plan, hostvars)
    # Pair 1: n1 serves, n2 connects.
    assert results["pingpong"]["pairs"][1]["client"] == {"rc": 111}
    assert results["pingpong"]["pairs"][1]["server_start"] == {"ansible_job_id": "j-n1"}
    assert [r["initiator"]["rc"] for r in results["nixl"]["pairs"]] == [0, 0, 0]
    # Checks that did not run, and hosts without the register, give {}.
    assert results["nccl"] == {} and results["vllm"] == {}
    del hostvars["n0"]
    assert validation_results(plan, hostvars)["pingpong"]["pairs"][0]["server"] == {}


def test_the_slowest_pair_carries_the_figures_and_is_named():
    d = cluster(3)
    report = report_of(d, pp_client={"n2": {"rc": 0, "stdout": slow(LAB_CLIENT, 4)}})
    check = by_id(report)[("fabric.pingpong", None)]
    assert check["status"] == "passed"
    assert check["nodes"] == ["n0", "n1", "n2"]
    assert check["details"]["slowest"] == "n2 -> n1"
    assert check["figures"]["largest_mb_per_s"] == pytest.approx(994.04)
    assert (check["figures"]["pairs"], check["figures"]["pairs_passed"]) == (3, 3)
    assert [p["pair"] for p in check["details"]["pairs"]] == ["n1 -> n0", "n2 -> n1", "n0 -> n2"]
    assert check["reason"].startswith("3 pairs passed, slowest n2 -> n1: n2 -> n1 over efa: 994.04 MB/s")

    batch = validation_mlflow_batch(report)
    metrics, tags = batch["metrics"], batch["tags"]
    # The names consumers read: the slowest pair's figures.
    assert metrics["fabric.pingpong.largest_mb_per_s"] == pytest.approx(994.04)
    assert metrics["fabric.pingpong.mb_per_s.1048576"] == pytest.approx(994.04)
    assert metrics["nixl.transfer.gbps"] == 1.284
    assert tags["check.fabric.pingpong"] == "passed" and tags["fabric.pingpong.slowest_pair"] == "n2 -> n1"
    # One row per pair.
    assert metrics["fabric.pingpong.pair.n1/n0.largest_mb_per_s"] == 3976.17
    assert metrics["fabric.pingpong.pair.n2/n1.passed"] == 1.0
    assert {k for k in metrics if k.startswith("nixl.transfer.pair.") and k.endswith(".gbps")} == {
        "nixl.transfer.pair.n0/n1.gbps",
        "nixl.transfer.pair.n1/n2.gbps",
        "nixl.transfer.pair.n2/n0.gbps",
    }

    text = validation_markdown(report)
    assert "## fi_pingpong around the ring of nodes (each node to the next): 3 pair(s), slowest n2 -> n1" in text
    assert "| n2 -> n1 (slowest) | PASS | 994.04 | 682.24 |" in text
    assert "| n1 -> n0 | PASS | 3976.17 |" in text
    assert "## fi_pingpong: server n1, client n2, provider efa" in text


def test_one_failed_pair_fails_the_check_and_names_it():
    report = report_of(cluster(3), pp_client={"n0": {"rc": 111, "stdout": "", "stderr": REFUSED, "attempts": 6}})
    check = by_id(report)[("fabric.pingpong", None)]
    assert check["status"] == "failed"
    assert check["reason"] == "1 of 3 pairs failed: n0 -> n2: connection to 10.0.200.12 port 47592 refused"
    assert "n2 (10.0.200.12) port 47592" in check["cause"]
    assert (check["figures"]["pairs"], check["figures"]["pairs_passed"]) == (3, 2)
    metrics = validation_mlflow_batch(report)["metrics"]
    assert metrics["fabric.pingpong.pair.n0/n2.passed"] == 0.0
    assert "fabric.pingpong.pair.n0/n2.largest_mb_per_s" not in metrics
    row = "| n0 -> n2 | **FAIL** | - | - | connection to 10.0.200.12 port 47592 refused |"
    assert row in validation_markdown(report)


def test_nixl_pair_without_results_fails_never_passes():
    d = cluster(3)
    d["plan"] = validation_plan(d)
    hostvars = registers(d["plan"]["pingpong"])
    hostvars["n1"]["validation__nixl_initiator"] = {"skipped": True}
    hostvars["n2"]["validation__nixl_target"] = {}
    d["results"] = validation_results(d["plan"], hostvars)
    check = by_id(validation_report(d))[("nixl.transfer", None)]
    assert check["status"] == "failed" and check["reason"].startswith("1 of 3 pairs failed: n1 -> n2: ")


def test_left_out_nodes_are_skipped_rows_not_passed():
    d = cluster(3)
    d["nodes"][2]["reachable"] = False
    report = report_of(d)
    check = by_id(report)[("fabric.pingpong", None)]
    assert check["status"] == "passed" and check["nodes"] == ["n0", "n1"]
    assert check["reason"].endswith("; left out: n2 (node n2 is unreachable)")
    assert check["details"]["left_out"] == [{"node": "n2", "reason": "node n2 is unreachable"}]
    text = validation_markdown(report)
    assert "| n2 (left out) | skip | - | - | node n2 is unreachable |" in text
    # The unreachable node's own checks fail: the run as a whole does not pass.
    assert report["summary"]["status"] == "failed"
