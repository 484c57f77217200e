"""The validation role's checks between nodes (tasks/jobs.yml) on three hosts, in one task per host.

Three local hosts run the role's own tasks with the plan validation_plan makes for them, against
stand-ins for fi_pingpong (on the PATH the role puts first, validation_efa_prefix/bin) and for the
NIXL venv's python: in one nixl_efa.cluster.node_jobs task each node starts one server, runs one
client towards the previous node's server, collects its server, then does the same with a NIXL target
and initiator; validation_results then gathers each pair's results from hostvars (recorded under the
names the report reads) and the report passes with three pairs. The run directories are gone after.
"""

import json
import subprocess
import sys
from pathlib import Path

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plan import validation_plan
from tests.unit.playbook_env import ROOT
from tests.unit.playbook_env import playbook_environ
from tests.unit.plugins.plugin_utils.test_validation import NIXL_FACT
from tests.unit.plugins.plugin_utils.test_validation_ring import cluster

FI_PINGPONG = """#!/bin/sh
echo "$*" >> {log}
cat <<'TABLE'
bytes   #sent   #ack     total       time     MB/sec    usec/xfer   Mxfers/sec
64      100     =100     12k         0.07s      0.09     682.24       0.00
1m      100     =100     200m        0.05s   {mb_per_s}     263.71       0.00
TABLE
"""

NIXL_PYTHON = """#!/bin/sh
cat > /dev/null
echo "$*" >> {log}
case "$*" in
  *"--role target"*) echo '{{"ok": true, "phase": "done", "match": true, "sha256": "ab"}}' ;;
  *) echo '{{"ok": true, "phase": "done", "gbps": 1.5, "gbps_first": 1.0, "iterations": 5, "sha256": "ab"}}' ;;
esac
"""

PLAY = """
- hosts: nixl_efa_nodes
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: nixl_efa.cluster.validation
        tasks_from: jobs.yml
    - name: The report of the ring checks
      ansible.builtin.copy:
        dest: "{{ report_file }}"
        mode: "0644"
        content: >-
          {{ {'entry': 'main', 'checks': ['pingpong', 'nixl'], 'settings': settings, 'nodes': [],
              'plan': validation__plan, 'results': validation__plan | nixl_efa.cluster.validation_results(hostvars)}
             | nixl_efa.cluster.validation_report | to_json }}
      delegate_to: localhost
      run_once: true
"""


def test_three_nodes_run_the_ring_in_one_task_per_node(tmp_path):
    log = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "fi_pingpong").write_text(FI_PINGPONG.format(log=log, mb_per_s="3976.17"))
    (bin_dir / "nixl-python").write_text(NIXL_PYTHON.format(log=log))
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    d = cluster(3)
    for n in d["nodes"]:
        n["probe"]["facts"]["nixl_efa_nixl"] = dict(NIXL_FACT, python=str(bin_dir / "nixl-python"), env_file="")
    d["settings"]["nixl_backend"] = "UCX"
    plan = validation_plan(d)
    jobs_dir = tmp_path / "jobs"
    extra = {
        "validation__plan": plan,
        "validation__stamp": d["stamp"],
        "validation__entry": "main",
        "validation__jobs_dir": str(jobs_dir),
        "validation_efa_prefix": str(tmp_path),
        "settings": d["settings"],
        "report_file": str(tmp_path / "report.json"),
    }
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    (tmp_path / "hosts.ini").write_text(
        "[nixl_efa_nodes]\n"
        + "".join(f"{n['name']} node_private_ip={n['private_ip']}\n" for n in d["nodes"])
        + f"[nixl_efa_nodes:vars]\nansible_connection=local\nansible_python_interpreter={sys.executable}\n"
        # No sudo here: the test's user runs the jobs (the role's task has become: true).
        + "ansible_become=false\n"
    )
    (tmp_path / "play.yml").write_text(PLAY)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "hosts.ini", "play.yml", "-e", "@extra.json"],
        cwd=tmp_path, env=playbook_environ(ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections")),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    tasks = [line for line in result.stdout.splitlines() if line.startswith("TASK [nixl_efa.cluster.validation")]
    remote = [t for t in tasks if "fi_pingpong" in t or "NIXL" in t]
    assert len(remote) == 1 and "in one task" in remote[0], tasks
    calls = log.read_text().splitlines()
    servers = [c for c in calls if c.endswith("-B 47592")]
    clients = sorted(c.rsplit(" ", 1)[1] for c in calls if " -P 47592 " in c)
    assert len(servers) == 3 and clients == ["10.0.200.10", "10.0.200.11", "10.0.200.12"]
    targets = [c for c in calls if c.endswith("--role target")]
    initiators = sorted(c.rsplit(" ", 1)[1] for c in calls if "--role initiator" in c)
    assert len(targets) == 3 and initiators == ["10.0.200.10", "10.0.200.11", "10.0.200.12"]

    report = json.loads((tmp_path / "report.json").read_text())
    checks = {c["id"]: c for c in report["checks"] if c["node"] is None}
    for check_id in ("fabric.pingpong", "nixl.transfer"):
        check = checks[check_id]
        assert check["status"] == "passed", check
        assert [p["status"] for p in check["details"]["pairs"]] == ["passed"] * 3
        assert check["reason"].startswith("3 pairs passed, slowest ")
    # Every job collected: no run directory is left on the "nodes".
    assert list(jobs_dir.iterdir()) == []
