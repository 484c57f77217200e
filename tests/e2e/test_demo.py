# -*- coding: utf-8 -*-
"""End to end: `make demo` as a user runs it, on a lab of its own, then verify_efa.yml and `make demo-down`.

The demo is playbooks/site.yml through inventories/lab: provisioning (capacity block search and
guarded purchase included) against the lab's local AWS, the instances coming up as Debian 12
systemd containers, and configure and validate over the real amazon.aws.aws_ssm connection
with the lab's session-manager-plugin stand-in. The tests run in file order and share one lab:

1. the first `make demo`: every play succeeds, the nodes are the containers, each node did its
   work over aws_ssm, the validation report passed with the checks the lab can run, vLLM's
   prefill -> NIXL -> decode on the CPU among them (decode pulled the KV blocks, and the single
   server wrote the same text);
2. the second `make demo`, with `--skip-tags validation` (the first run validated; this one is
   about convergence): provisioning and configuration change nothing, and the converged
   provisioning reads the capacity reservation once;
3. verify_efa.yml from the repository root over the same inventory;
4. `make demo-down`: teardown, the lab's containers and its local AWS are gone.

Needs Docker (lab/docker_engine.sh starts it; `make e2e` and `make demo` call it), the lab's
wheelhouse (tools/wheelhouse.py, downloaded once per machine by `make demo`), about 6 GB of memory
and 8 GB of disk for the two nodes' vLLM venvs and servers, and about 25 minutes on 2 cores; no test
here fails on a slow machine, only on a wrong result.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
CONFIGURE_PLAYS = (
    "EFA, NCCL and NIXL on every node",
    "MLflow tracking server",
    "The vLLM prefill and decode servers, where GPUs exist",
)
PROVISION_PLAY = "Provision the cluster"
# Remote tasks per node over aws_ssm (issue 19's budgets; play_summary counts loop items, until retries,
# async polls and a file task's second module): configure.yml on a converged node, one per node role,
# and the first configure of a node (in the lab: the packages EFA method, MLflow and vLLM on the CPU).
CONFIGURE_BUDGET_CONVERGED = 6
CONFIGURE_BUDGET_FIRST = 25
UNSAFE = "__ansible_unsafe"


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Demo:
    """One lab, its port, and what each step left behind."""

    def __init__(self, tmp):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = tmp
        self.reports = tmp / "reports"
        self.runs = {}

    def environ(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
        env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", ANSIBLE_FORCE_COLOR="0", **extra)
        return env

    def make(self, target, summary=None, playbook_args=""):
        demo_args = f"-e validation_report_dir={self.reports} {playbook_args}".strip()
        args = ["make", "--no-print-directory", "-C", str(ROOT), target, f"LAB_PORT={self.port}"]
        args.append(f"DEMO_ARGS={demo_args}")
        extra = {"NIXL_EFA_PLAY_SUMMARY_FILE": str(summary)} if summary else {}
        env = self.environ(**extra)
        return subprocess.run(args, env=env, capture_output=True, text=True, timeout=1500, check=False)

    def lab_environ(self):
        return self.environ(
            AWS_ENDPOINT_URL=self.url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION="us-east-1",
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        )

    def containers(self):
        result = subprocess.run(
            ["docker", "ps", "-a", "--filter", f"label=nixl-efa.lab={self.port}",
             "--format", '{{.Label "nixl-efa.lab.instance-id"}} {{.State}}'],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return dict(line.split() for line in result.stdout.splitlines())

    def inventory(self):
        result = subprocess.run(
            [str(BIN / "ansible-inventory"), "-i", str(ROOT / "inventories" / "lab"), "--list"],
            cwd=ROOT, env=self.lab_environ(), capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        # ansible-inventory marks templated values as {"__ansible_unsafe": value}: unwrap them.
        return json.loads(result.stdout, object_hook=lambda d: d["__ansible_unsafe"] if set(d) == {UNSAFE} else d)


def _tail(result):
    return f"rc={result.returncode}\n{result.stdout[-8000:]}\n{result.stderr[-3000:]}"


def _remote_tasks(plays, names, nodes):
    """{node: remote tasks over the named plays} from play_summary's JSON."""
    return {node: sum(plays[name]["hosts"].get(node, {}).get("remote_tasks", 0) for name in names) for node in nodes}


def _plays(summary_file):
    return {play["name"]: play for play in json.loads(summary_file.read_text())["plays"]}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    demo = Demo(tmp_path_factory.mktemp("demo"))
    try:
        yield demo
    finally:
        if "down" not in demo.runs:
            demo.make("demo-down")


def test_first_demo_provisions_configures_and_validates_over_ssm(demo):
    summary = demo.tmp / "first.json"
    result = demo.make("demo", summary)
    demo.runs["first"] = result
    assert result.returncode == 0, _tail(result)
    plays = _plays(summary)
    assert all(play["failed"] == 0 for play in plays.values()), plays
    assert plays[PROVISION_PLAY]["changed"] > 0, "a first run on an empty lab must create the cluster"

    # The nodes are the lab's containers, listed by the aws_ec2 inventory and reached through aws_ssm.
    inventory = demo.inventory()
    nodes = sorted(inventory["nixl_efa_nodes"]["hosts"])
    assert len(nodes) == 2
    assert demo.containers() == dict.fromkeys(nodes, "running")
    hostvars = inventory["_meta"]["hostvars"]
    assert {hostvars[n]["ansible_connection"] for n in nodes} == {"amazon.aws.aws_ssm"}
    assert sorted(hostvars[n]["node_private_ip"] for n in nodes) == ["127.0.1.1", "127.0.1.2"]
    by_index = sorted(nodes, key=lambda n: hostvars[n]["node_index"])
    assert inventory["prefill"]["hosts"] == by_index[:1] == inventory["mlflow"]["hosts"]
    assert inventory["decode"]["hosts"] == by_index[1:]
    for play in CONFIGURE_PLAYS[:1] + ("Validate the cluster",):
        for node in nodes:
            assert plays[play]["hosts"][node]["remote_tasks"] > 0, (play, node)
    first = _remote_tasks(plays, CONFIGURE_PLAYS, nodes)
    assert max(first.values()) <= CONFIGURE_BUDGET_FIRST, first

    # The capacity block was bought within the ceiling, and the nodes run in it.
    assert "Buy the picked or the matching offering" in result.stdout
    assert {hostvars[n].get("capacity_reservation_id") for n in nodes} != {None}

    report = json.loads((demo.reports / "latest.json").read_text())
    status = {(c["id"], c["node"]): c["status"] for c in report["checks"]}
    assert report["summary"]["status"] == "passed", report["summary"]
    passed = {check for (check, _node), state in status.items() if state == "passed"}
    assert {"fabric.pingpong", "nixl.transfer", "mlflow.write_read", "mlflow.report", "vllm.serving"} <= passed, status
    # vLLM on the CPU: decode pulled the prompt's KV blocks from prefill through NIXL, and the single
    # server wrote the same greedy text.
    vllm = next(c for c in report["checks"] if c["id"] == "vllm.serving")
    assert vllm["figures"]["nixl_transfers"] >= 1 and vllm["figures"]["nixl_bytes"] > 0, vllm
    assert vllm["figures"]["nixl_failed"] == 0 and vllm["figures"]["text_matches_single"], vllm
    assert status[("nccl.all_reduce", None)] == "skipped"
    assert all(c["reason"] for c in report["checks"] if c["status"] == "skipped")
    # What site.yml's last play prints: the report and how to open MLflow.
    assert "# Cluster validation: nixl-efa-lab" in result.stdout
    assert "MLflow UI: open http://127.0.1.1:5000" in result.stdout

    # Validation's budget (issue 19): at most 4 remote tasks per node for any number of nodes, every wait
    # on the node (the play_summary callback counts until tries and async polls too).
    validated = plays["Validate the cluster"]["hosts"]
    assert all(0 < validated[node]["remote_tasks"] <= 4 for node in nodes), validated


def test_second_demo_changes_nothing_in_provision_and_configure(demo):
    assert demo.runs.get("first") is not None and demo.runs["first"].returncode == 0, "the first demo failed"
    summary = demo.tmp / "second.json"
    request = urllib.request.Request(f"{demo.url}/lab/calls", method="POST")
    urllib.request.urlopen(request, timeout=5)  # noqa: S310 (loopback only): count this run's calls only
    result = demo.make("demo", summary, playbook_args="--skip-tags validation")
    assert result.returncode == 0, _tail(result)
    plays = _plays(summary)
    validated = plays.get("Validate the cluster", {"hosts": {}})["hosts"]
    assert sum(host["ok"] + host["changed"] for host in validated.values()) == 0, ("--skip-tags validation", validated)
    for name in (PROVISION_PLAY, *CONFIGURE_PLAYS):
        assert plays[name]["changed"] == 0, (name, plays[name])
        assert plays[name]["failed"] == 0, (name, plays[name])
    # A converged node costs each node role its probe alone.
    converged = _remote_tasks(plays, CONFIGURE_PLAYS, sorted(demo.inventory()["nixl_efa_nodes"]["hosts"]))
    assert max(converged.values()) <= CONFIGURE_BUDGET_CONVERGED, converged
    calls = json.loads(urllib.request.urlopen(f"{demo.url}/lab/calls", timeout=5).read())  # noqa: S310 (loopback)
    assert "ec2:PurchaseCapacityBlock" not in calls["by_action"], "the second run bought another capacity block"
    # The reservation is described once: by the fast path's one read (or, on the full path, by the capacity block
    # role, whose record the network and instances roles read).
    assert calls["by_action"].get("ec2:DescribeCapacityReservations") == 1, calls["by_action"]


def test_verify_efa_runs_over_the_same_inventory(demo):
    result = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(ROOT / "inventories" / "lab"), "verify_efa.yml",
         "-e", f"validation_report_dir={demo.reports}"],
        cwd=ROOT, env=demo.lab_environ(), capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, _tail(result)
    report = json.loads((demo.reports / "latest-efa.json").read_text())
    assert report["entry"] == "efa"
    assert report["summary"]["failed"] == 0
    assert any(c["id"] == "fabric.pingpong" and c["status"] == "passed" for c in report["checks"]), report["checks"]


def test_demo_down_removes_everything(demo):
    result = demo.make("demo-down")
    demo.runs["down"] = result
    assert result.returncode == 0, _tail(result)
    assert demo.containers() == {}
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{demo.url}/moto-api/", timeout=2)  # noqa: S310 (loopback only)
