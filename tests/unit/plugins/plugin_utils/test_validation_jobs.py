"""Each node's part of the checks between nodes as the steps of one node_jobs task
(plugins/plugin_utils/validation/jobs.py): their order on 1, 2 and 3 nodes, their timeouts and the
task's bound, the HTTP steps (credentials only on stdin), the results handed back in the shape the
report reads, and the plan's refusal of a check with more nodes than forks.
"""

import json

import pytest

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.jobs import KILL_GRACE
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.jobs import PINGPONG_CONNECT_TRIES
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.jobs import START_SECONDS
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.jobs import node_job_results
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.jobs import node_jobs
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plan import validation_plan
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import validation_report
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import validation_results
from tests.unit.plugins.plugin_utils.test_validation import NIXL_FACT
from tests.unit.plugins.plugin_utils.test_validation_ring import cluster

HTTP = "import os\nos.environ.update({'MLFLOW_TRACKING_PASSWORD': 'Pw-secret'})\n# the HTTP script\n"
SERVED = {
    "serving": True,
    "model": "stand-in",
    "prefill_url": "http://10.0.200.10:8100",
    "decode_url": "http://10.0.200.11:8200",
    "proxy_url": "http://10.0.200.10:8192",
    "single_url": "http://10.0.200.10:8300",
    "single_unit": "nixl-efa-vllm-single.service",
}


def inputs(d, **extra):
    base = {
        "settings": d["settings"],
        "python": "/usr/bin/python3",
        "shell": "/bin/bash",
        "fabric_env": {"PATH": "/opt/amazon/efa/bin:/usr/bin", "FI_TCP_IFACE": "lo"},
        "nixl_env": {"UCX_TLS": "tcp"},
        "nccl_env": {"NCCL_DEBUG": "INFO"},
        "scripts": {"nixl": "# nixl_transfer.py", "nccl": "# nccl_allreduce.py", "http": HTTP},
        "cluster": "demo",
        "entry": "main",
        "run_name": "demo-20261206T131425Z",
        "mlflow_experiment": "nixl-efa-validation",
        "mlflow_timeout": 60,
        "vllm_prompt": "Question: what is the capital of France? Answer:",
        "vllm_max_tokens": 16,
        "vllm_single": True,
        "vllm_timeout": 300,
    }
    base.update(extra)
    return base


def lab(count=2):
    """count nodes with MLflow on the first and vLLM serving (the lab's layout)."""
    d = cluster(count)
    d["nodes"][0]["probe"]["facts"]["nixl_efa_vllm"] = SERVED
    d["mlflow_url"] = "http://10.0.200.10:5000"
    return d


def order(plan, host, d):
    return [(s["action"], s["name"]) for s in node_jobs(plan, host, inputs(d))["steps"]]


def test_two_nodes_keep_the_checks_apart():
    d = lab(2)
    plan = validation_plan(d)
    # n0 serves fi_pingpong, writes with NIXL, writes to MLflow and runs the vLLM check; n1 connects,
    # is written to. Each waits for its partner's part of one check before its part of the next.
    assert order(plan, "n0", d) == [
        ("start", "pingpong_server"),
        ("collect", "pingpong_server"),
        ("run", "nixl_initiator"),
        ("run", "mlflow_write"),
        ("run", "vllm"),
    ]
    assert order(plan, "n1", d) == [
        ("run", "pingpong_client"),
        ("start", "nixl_target"),
        ("collect", "nixl_target"),
    ]


def test_three_nodes_each_serve_connect_write_and_are_written_to():
    d = cluster(3)
    plan = validation_plan(d)
    for host in ("n0", "n1", "n2"):
        assert order(plan, host, d) == [
            ("start", "pingpong_server"),
            ("run", "pingpong_client"),
            ("collect", "pingpong_server"),
            ("start", "nixl_target"),
            ("run", "nixl_initiator"),
            ("collect", "nixl_target"),
        ]


def test_one_node_has_nothing_between_nodes():
    d = cluster(1)
    d["mlflow_url"] = "http://10.0.200.10:5000"
    plan = validation_plan(d)
    assert order(plan, "n0", d) == [("run", "mlflow_write")]


def test_steps_carry_the_plans_command_lines_environments_and_timeouts():
    d = lab(2)
    plan = validation_plan(d)
    n0 = {s["name"] + ":" + s["action"]: s for s in node_jobs(plan, "n0", inputs(d))["steps"]}
    n1 = {s["name"] + ":" + s["action"]: s for s in node_jobs(plan, "n1", inputs(d))["steps"]}
    server = n0["pingpong_server:start"]
    assert server["argv"] == plan["pingpong"]["node"]["n0"]["server_argv"]
    assert server["env"]["FI_TCP_IFACE"] == "lo" and server["timeout"] == 75
    client = n1["pingpong_client:run"]
    assert client["argv"] == plan["pingpong"]["node"]["n1"]["client_argv"]
    assert (client["retry_rc"], client["retries"], client["delay"]) == ([111], PINGPONG_CONNECT_TRIES, 1)
    assert client["timeout"] == 60 + 15 + PINGPONG_CONNECT_TRIES
    assert n0["pingpong_server:collect"] == {"name": "pingpong_server", "action": "collect", "timeout": 75}
    initiator = n0["nixl_initiator:run"]
    assert initiator["cmd"] == plan["nixl"]["node"]["n0"]["initiator_cmd"]
    assert (initiator["stdin"], initiator["executable"], initiator["env"]) == (
        "# nixl_transfer.py",
        "/bin/bash",
        {"UCX_TLS": "tcp"},
    )
    assert initiator["timeout"] == 120 + 60
    target = n1["nixl_target:start"]
    assert target["cmd"] == plan["nixl"]["node"]["n1"]["target_cmd"] and target["timeout"] == 180
    assert n1["nixl_target:collect"]["timeout"] == 180


def test_http_steps_keep_the_credentials_on_stdin():
    d = lab(2)
    plan = validation_plan(d)
    steps = {s["name"]: s for s in node_jobs(plan, "n0", inputs(d))["steps"]}
    write, vllm = steps["mlflow_write"], steps["vllm"]
    assert write["stdin"] == vllm["stdin"] == HTTP
    assert "Pw-secret" not in json.dumps(write["argv"]) + json.dumps(vllm["argv"])
    argv = write["argv"]
    assert argv[:5] == ["/usr/bin/python3", "-", "--timeout", "60", "mlflow-write"]
    assert argv[argv.index("--url") + 1] == "http://10.0.200.10:5000"
    assert argv[argv.index("--run-name") + 1] == "demo-20261206T131425Z"
    assert json.loads(argv[argv.index("--params-json") + 1]) == {
        "validation.cluster": "demo",
        "validation.writer": "n0",
    }
    assert json.loads(argv[argv.index("--tags-json") + 1]) == {
        "nixl-efa.cluster": "demo",
        "nixl-efa.validation": "main",
    }
    assert write["timeout"] == 120
    argv = vllm["argv"]
    assert argv[:5] == ["/usr/bin/python3", "-", "--timeout", "300", "vllm"]
    assert argv[argv.index("--proxy") + 1] == "http://10.0.200.10:8192"
    assert argv[argv.index("--single-unit") + 1] == "nixl-efa-vllm-single.service"
    assert argv[argv.index("--max-tokens") + 1] == "16" and vllm["timeout"] == 360
    no_single = {s["name"]: s for s in node_jobs(plan, "n0", inputs(d, vllm_single=False))["steps"]}["vllm"]["argv"]
    assert no_single[no_single.index("--single") + 1] == "" and no_single[-1] == ""


def test_nccl_runs_on_every_gpu_node_after_nixl():
    d = cluster(2, torchrun="/t/bin/torchrun")
    d["settings"]["nccl_backend"] = "gloo"
    plan = validation_plan(d)
    for host in ("n0", "n1"):
        steps = node_jobs(plan, host, inputs(d))["steps"]
        assert steps[-1]["name"] == "nccl" and steps[-1]["cmd"] == plan["nccl"]["node"][host]["cmd"]
        assert steps[-1]["stdin"] == "# nccl_allreduce.py" and steps[-1]["env"] == {"NCCL_DEBUG": "INFO"}
        assert steps[-1]["timeout"] == 300 + 60


def test_the_bound_is_every_run_and_collect_with_its_grace():
    d = lab(2)
    plan = validation_plan(d)
    jobs = node_jobs(plan, "n0", inputs(d))
    # start server, collect server (75), initiator (180), MLflow write (120), vLLM (360)
    assert jobs["seconds"] == START_SECONDS + (75 + KILL_GRACE + 2) + (180 + KILL_GRACE) + (120 + KILL_GRACE) + (
        360 + KILL_GRACE
    )
    assert node_jobs(plan, "nobody", inputs(d)) == {"steps": [], "seconds": 0}


def test_the_efa_entry_point_gives_fi_pingpong_only():
    d = lab(2)
    d["entry"] = "efa"
    plan = validation_plan(d)
    assert order(plan, "n0", d) == [("start", "pingpong_server"), ("collect", "pingpong_server")]
    assert order(plan, "n1", d) == [("run", "pingpong_client")]


# --- forks ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("forks", "status"), [(None, "run"), (3, "run"), (10, "run"), (2, "skipped")])
def test_checks_between_nodes_need_forks_for_all_their_nodes(forks, status):
    d = cluster(3, torchrun="/t/bin/torchrun")
    d["settings"]["nccl_backend"] = "gloo"
    if forks is not None:
        d["forks"] = forks
    plan = validation_plan(d)
    for name in ("pingpong", "nixl", "nccl"):
        assert plan[name]["status"] == status, (name, plan[name])
    if status == "skipped":
        assert plan["pingpong"]["reason"] == (
            "needs its 3 nodes at once, but forks is 2 (Ansible runs a task on 2 hosts at a time): "
            "set forks to 3 or more"
        )
        d["mlflow_url"] = "http://10.0.200.10:5000"
        assert order(validation_plan(d), "n0", d) == [("run", "mlflow_write")]


def test_forks_count_only_the_nodes_taking_part():
    d = cluster(3)
    d["forks"] = 2
    d["nodes"][2]["probe"]["facts"]["nixl_efa_nixl"] = dict(NIXL_FACT, backends={})
    plan = validation_plan(d)
    assert plan["nixl"]["status"] == "run" and plan["nixl"]["nodes"] == ["n0", "n1"]
    assert plan["pingpong"]["status"] == "skipped"


# --- results -------------------------------------------------------------------------------


def test_results_are_the_jobs_of_the_steps():
    steps = [{"name": "pingpong_server", "action": "start"}, {"name": "pingpong_server", "action": "collect"}]
    steps.append({"name": "nixl_initiator", "action": "run"})
    result = {"changed": False, "jobs": {"pingpong_server": {"rc": 0, "stdout": "x"}, "other": {"rc": 1}}}
    assert node_job_results(result, steps) == {
        "pingpong_server": {"rc": 0, "stdout": "x"},
        "nixl_initiator": {
            "failed": True,
            "rc": None,
            "msg": "node_jobs: the node_jobs task returned no result for it",
        },
    }


def test_a_failed_task_fails_each_of_its_jobs_with_the_reason():
    steps = [{"name": "pingpong_client", "action": "run"}]
    result = {"failed": True, "msg": "Connection timed out"}
    assert node_job_results(result, steps) == {
        "pingpong_client": {"failed": True, "rc": None, "msg": "node_jobs: Connection timed out"}
    }


def test_a_skipped_task_has_no_results():
    assert node_job_results({"skipped": True, "changed": False}, []) == {}
    assert node_job_results({}, []) == {}


def test_the_report_reads_the_jobs_results_as_it_read_the_tasks():
    """The records node_jobs returns, under the names the role records them, give the same checks."""
    d = lab(2)
    plan = validation_plan(d)
    table = (
        "bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec\n"
        "64      100     =100     12k         0.07s      0.09     682.24       0.00\n"
        "1m      100     =100     200m        0.05s   3976.17     263.71       0.00\n"
    )
    initiator = {"ok": True, "phase": "done", "gbps": 1.5, "gbps_first": 1.0, "iterations": 5, "sha256": "ab"}
    target = {"ok": True, "phase": "done", "match": True, "sha256": "ab"}

    def job(name, action, rc, stdout, attempts=1):
        return {
            "name": name, "action": action, "cmd": [], "started": True, "pid": 42, "finished": True, "rc": rc,
            "stdout": stdout, "stderr": "", "truncated": False, "start": "", "end": "", "delta": "", "seconds": 1.0,
            "attempts": attempts, "timed_out": False, "killed": False, "skipped": False, "msg": "",
        }  # fmt: skip

    n0 = node_job_results(
        {"jobs": {"pingpong_server": job("pingpong_server", "collect", 0, table),
                  "nixl_initiator": job("nixl_initiator", "run", 0, json.dumps(initiator))}},
        node_jobs(plan, "n0", inputs(d))["steps"],
    )  # fmt: skip
    n1 = node_job_results(
        {"jobs": {"pingpong_client": job("pingpong_client", "run", 0, table, attempts=2),
                  "nixl_target": job("nixl_target", "collect", 0, json.dumps(target))}},
        node_jobs(plan, "n1", inputs(d))["steps"],
    )  # fmt: skip
    hostvars = {
        "n0": {"validation__pp_server_job": n0["pingpong_server"], "validation__pp_server": n0["pingpong_server"],
               "validation__nixl_initiator": n0["nixl_initiator"], "validation__mlflow_write": n0["mlflow_write"]},
        "n1": {"validation__pp_client": n1["pingpong_client"], "validation__nixl_target": n1["nixl_target"]},
    }  # fmt: skip
    report = validation_report(dict(d, plan=plan, results=validation_results(plan, hostvars)))
    checks = {c["id"]: c for c in report["checks"] if c["node"] is None}
    assert checks["fabric.pingpong"]["status"] == "passed", checks["fabric.pingpong"]
    assert checks["fabric.pingpong"]["details"]["client"]["attempts"] == 2
    assert checks["fabric.pingpong"]["details"]["server"]["finished"] is True
    assert checks["nixl.transfer"]["status"] == "passed", checks["nixl.transfer"]
    # The MLflow write did not come back: failed, never passed.
    assert checks["mlflow.write_read"]["status"] == "failed"
    assert "node_jobs" in checks["mlflow.write_read"]["reason"]
