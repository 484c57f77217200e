"""The validation role's report (tasks/report.yml) on two local hosts: the plots drawn on the controller, written
beside the Markdown that links them, and carried into the MLflow run as its artifacts by the one logging task.

The two hosts hold what the checks between nodes registered (fi_pingpong and NIXL around the ring, the MLflow
write and read) as host variables; the role's own tasks then build the report, draw its plots, run the logging
task (files/validation_http.py on stdin, as on a node) against a stand-in MLflow with basic auth on loopback,
and write the reports. The role's variable that renders the logging script is checked on its own too.
"""

import base64
import json
import subprocess
import sys
from pathlib import Path

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plan import validation_plan
from tests.unit.playbook_env import ROOT
from tests.unit.playbook_env import playbook_environ
from tests.unit.plugins.plugin_utils.test_validation_ring import cluster
from tests.unit.plugins.plugin_utils.test_validation_ring import registers
from tests.unit.plugins.plugin_utils.test_validation_yardsticks import FLOORS

from .test_validation_credentials import render
from .test_validation_scripts import PNG
from .test_validation_scripts import FakeMlflow
from .test_validation_scripts import mlflow_state
from .test_validation_scripts import serve

PASSWORD = "Pw-report-tasks-0123"
AUTHORIZATION = "Basic " + base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
STAMP = "20261206T131425Z"
ANSWER = {
    "ok": True, "error": None, "phase": "done", "iterations": 5, "gbps": 1.284, "gbps_first": 0.33,
    "gbps_best": 1.4, "sha256": "ab", "seconds": [0.2, 0.05, 0.052, 0.049, 0.06], "tcp_gbps": 2.0,
    "share_of_tcp": 0.642, "shm_gbps": 12.5, "shm_memcpy_gbps": 20.0, "shm_share_of_memcpy": 0.625,
}  # fmt: skip
TARGET = {"ok": True, "phase": "done", "match": True, "sha256": "ab", "tcp_match": True}

PLAY = """
- hosts: nixl_efa_nodes
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: nixl_efa.cluster.validation
        tasks_from: report.yml
"""


def test_the_logging_script_carries_the_plots_in_its_preamble():
    """The role's validation__log_script: ARTIFACTS from the validation_plots result, then the credentials."""
    artifacts = {"plots/a.png": base64.b64encode(PNG).decode()}
    script = render(
        "validation__log_script", mlflow_admin_password=PASSWORD, validation__plots={"artifacts": artifacts}
    )
    assert script.startswith("ARTIFACTS = {" + json.dumps("plots/a.png"))
    state = dict(mlflow_state(), authorization=AUTHORIZATION)
    state["runs"]["r1"] = {"params": {}, "metrics": {}, "tags": {}, "status": "RUNNING"}
    with serve(FakeMlflow, state) as url:
        argv = [sys.executable, "-", "--timeout", "10", "mlflow-log", "--url", url, "--run-id", "r1"]
        argv += ["--payload-json", "{}"]
        result = subprocess.run(argv, input=script, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert state["artifacts"] == {"7/r1/artifacts/plots/a.png": PNG}
    # Without a drawing task (the efa entry point draws but never logs): no artifacts, the script unchanged.
    assert render("validation__log_script").startswith("ARTIFACTS = {}\nimport os\n")


def test_report_tasks_draw_the_plots_and_carry_them_into_the_mlflow_run(tmp_path):
    d = cluster(2)
    d["settings"].update(FLOORS, nixl_backend="UCX", fabric_provider="tcp")
    state = dict(mlflow_state(), authorization=AUTHORIZATION)
    state["runs"]["run0"] = {"params": {}, "metrics": {}, "tags": {}, "status": "FINISHED"}
    reports = tmp_path / "reports"
    with serve(FakeMlflow, state) as url:
        d["mlflow_url"] = url
        plan = validation_plan(d)
        assert plan["mlflow"]["status"] == "run", plan["mlflow"]
        hostvars = registers(
            plan["pingpong"], nixl_initiator={n: {"rc": 0, "stdout": json.dumps(ANSWER)} for n in ("n0", "n1")}
        )
        for name, node in zip(("n0", "n1"), d["nodes"]):
            hostvars[name].update(
                validation__node=node,
                validation__nixl_target={"finished": 1, "rc": 0, "stdout": json.dumps(TARGET)},
                node_private_ip=node["private_ip"],
                ansible_connection="local",
                ansible_python_interpreter=sys.executable,
                ansible_become=False,
            )
        hostvars["n0"]["validation__mlflow_write"] = {
            "rc": 0,
            "stdout": json.dumps({"ok": True, "run_id": "run0", "experiment_id": "7", "params": {}, "metrics": {}}),
        }
        hostvars["n1"]["validation__mlflow_read"] = {"rc": 0, "stdout": json.dumps({"ok": True, "match": True})}
        inventory = {"nixl_efa_nodes": {"hosts": hostvars}}
        (tmp_path / "hosts.json").write_text(json.dumps(inventory))
        extra = {
            "validation__entry": "main",
            "validation__plan": plan,
            "validation__stamp": STAMP,
            "validation__started": "2026-12-06T13:14:25Z",
            "validation_cluster_name": "demo",
            "validation_report_dir": str(reports),
            "validation_python": sys.executable,
            "validation_mlflow_password": PASSWORD,
            "validation_fail_on_error": False,
        }
        (tmp_path / "extra.json").write_text(json.dumps(extra))
        (tmp_path / "play.yml").write_text(PLAY)
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "hosts.json", "play.yml",
             "-e", "@extra.json"],
            cwd=tmp_path, env=playbook_environ(ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections")),
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    # The credentials never show, though the PNGs and the password travel on the same stdin.
    assert PASSWORD not in result.stdout + result.stderr

    stem = f"demo-{STAMP}"
    names = {"pingpong_bandwidth", "pingpong_latency", "nixl_transfers", "nixl_yardsticks"}
    pngs = {p.name: p.read_bytes() for p in reports.glob("*.png")}
    assert set(pngs) == {f"{stem}-{name}.png" for name in names}
    # The run received the same bytes under plots/, with the admin's credentials; its status set after them.
    assert state["artifacts"] == {f"7/run0/artifacts/plots/{n}.png": pngs[f"{stem}-{n}.png"] for n in names}
    assert state.get("refused", 0) == 0 and state["runs"]["run0"]["status"] == "FAILED"  # node checks failed
    assert state["runs"]["run0"]["metrics"]["fabric.pingpong.largest_mb_per_s"] == 3976.17

    report = json.loads((reports / f"{stem}.json").read_text())
    logged = next(c for c in report["checks"] if c["id"] == "mlflow.report")
    assert logged["status"] == "passed", logged
    assert logged["reason"].endswith(
        "4 artifact(s) uploaded and listed: plots/nixl_transfers.png, plots/nixl_yardsticks.png, "
        "plots/pingpong_bandwidth.png, plots/pingpong_latency.png"
    )
    assert [f["file"] for f in report["plots"]["files"]] == [f"{stem}-{n}.png" for n in (
        "pingpong_bandwidth", "pingpong_latency", "nixl_transfers", "nixl_yardsticks")]  # fmt: skip
    assert report["plots"]["not_drawn"] == [
        {"id": "nccl_busbw", "title": "NCCL all_reduce bus bandwidth by message size", "check": "nccl.all_reduce",
         "reason": "skipped: no GPU on n0"}
    ]  # fmt: skip
    markdown = (reports / f"{stem}.md").read_text()
    assert f"![fi_pingpong bandwidth by message size]({stem}-pingpong_bandwidth.png)" in markdown
    assert "and in the MLflow run `run0` as artifacts under `plots/`." in markdown
    # latest.md links the same files: they sit beside it.
    assert (reports / "latest.md").read_text() == markdown
