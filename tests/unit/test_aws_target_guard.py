"""Every playbook that calls AWS refuses, before its first call, a run whose inventory and endpoint disagree.

Both directions, for each playbook:
- the lab's inventory (cluster_local_aws) with no AWS_ENDPOINT_URL and credentials in the shell: the lab's
  aws_ec2 inventory does not load (its endpoint is the lab_endpoint lookup) and the guard refuses. Every
  AWS client of the run is sent through a proxy that records connections: none may arrive, so nothing
  was asked of AWS, not even by the inventory;
- a real account's inventory with the lab's exports left in the shell (a loopback AWS_ENDPOINT_URL): refused.
In both, the guard is the only task that ran, and the message names the variable to change.

No AWS and no network: the runs are concurrent (four at a time) to keep the wall time near one run's.
"""

from __future__ import annotations

import concurrent.futures
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from playbook_env import playbook_environ

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GUARD_TASK = "TASK [Refuse a run whose settings and AWS endpoint disagree"
# Every playbook that calls AWS, with what a user would add to run it for real.
PLAYBOOKS = {
    "playbooks/provision.yml": (),
    "playbooks/capacity_block.yml": ("-e", "action=purchase"),
    "playbooks/teardown.yml": (),
    "playbooks/configure.yml": (),
    "playbooks/validate.yml": (),
    "playbooks/verify_efa.yml": (),
    "verify_efa.yml": (),
    "playbooks/site.yml": (),
    "playbooks/code_server.yml": (),
    "playbooks/ray.yml": ("--skip-tags", "storage"),
    "playbooks/audit.yml": (),
}
# The inventory a real account's run of each playbook uses.
REAL_INVENTORY = {"playbooks/code_server.yml": "inventories/code_server"}


class Recorder:
    """A TCP listener on loopback that counts the connections made to it (each is closed at once)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _peer = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self):
        self.sock.close()


def _environ(**extra):
    # Credentials as a real user's shell holds them (not the lab's): the guard must stop the run anyway.
    real = {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    }
    return playbook_environ(**{**real, **extra})


def _run(playbook, inventory, env):
    command = [str(BIN / "ansible-playbook"), "-i", inventory, playbook, *PLAYBOOKS[playbook]]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture(scope="module")
def runs():
    """Both directions for every playbook: {(direction, playbook): (rc, output)}, and the proxy's count."""
    recorder = Recorder()
    proxy = {"HTTPS_PROXY": recorder.url, "HTTP_PROXY": recorder.url}
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for playbook in PLAYBOOKS:
            jobs[("lab", playbook)] = pool.submit(_run, playbook, "inventories/lab", _environ(**proxy))
            # The lab's exports in a real user's shell: a loopback endpoint on a closed port.
            # (Its inventory reads through a proxy on a closed port, not the recorder, which counts the lab runs' only.)
            real = _environ(
                AWS_ENDPOINT_URL="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9"
            )
            jobs[("real", playbook)] = pool.submit(
                _run, playbook, REAL_INVENTORY.get(playbook, "inventories/aws"), real
            )
        results = {key: job.result() for key, job in jobs.items()}
    recorder.close()
    return results, recorder


def _tasks(output):
    return re.findall(r"^TASK \[.*$", output, re.MULTILINE)


def _flat(text):
    return " ".join(text.split())


def _message(output):
    """The refusal as printed under fatal:, without the task's source shown above it."""
    return _flat(output.split("fatal: [localhost]", 1)[-1].split("PLAY RECAP", 1)[0])


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_lab_inventory_without_the_lab_endpoint_is_refused_and_asks_nothing_of_aws(runs, playbook):
    results, recorder = runs
    rc, output = results[("lab", playbook)]
    assert rc == 2, output[-4000:]
    flat = _flat(output)
    assert "cluster_local_aws is true (an inventory made for the lab), but AWS_ENDPOINT_URL is not set" in flat
    assert "Nothing was called." in flat
    # The inventory did not load rather than list a real account's instances.
    assert "This inventory reaches only the lab, and AWS_ENDPOINT_URL is not set: nothing was asked of AWS" in flat
    tasks = _tasks(output)
    assert len(tasks) == 1 and tasks[0].startswith(GUARD_TASK), tasks
    # No AWS client of any run reached out (every one would have gone through the recording proxy).
    assert recorder.connections == 0


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_real_inventory_with_a_loopback_endpoint_is_refused(runs, playbook):
    results, _recorder = runs
    rc, output = results[("real", playbook)]
    assert rc == 2, output[-4000:]
    flat = _flat(output)
    assert "AWS_ENDPOINT_URL is 'http://127.0.0.1:9', a loopback address" in flat, output[-4000:]
    assert "this inventory is made for a real account (cluster_local_aws is not set)" in flat
    # Only the rule that failed: the real inventories keep cluster_require_tls on.
    assert "cluster_require_tls" not in _message(output)
    tasks = _tasks(output)
    assert len(tasks) == 1 and tasks[0].startswith(GUARD_TASK), tasks


def test_lab_only_setting_is_refused_on_a_real_account(tmp_path):
    empty = tmp_path / "hosts.ini"
    empty.write_text("[nixl_efa_nodes]\n")
    env = _environ(HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    command = [str(BIN / "ansible-playbook"), "-i", "inventories/aws", "-i", str(empty), "playbooks/provision.yml",
               "-e", "cluster_require_tls=false"]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-4000:]
    flat = _flat(output)
    assert "cluster_require_tls is false, which only a local stand-in served over plain HTTP (the lab) needs" in flat
    assert "AWS_ENDPOINT_URL" not in _message(output)


def test_mismatched_inventory_is_refused_naming_the_nodes(tmp_path):
    """Nodes listed with another cluster's tag or region (as the aws_ec2 inventories compose them) stop the run."""
    inventory = tmp_path / "nodes.yml"
    inventory.write_text(
        "nixl_efa_nodes:\n  hosts:\n"
        "    i-0aaa: {node_cluster: other-cluster, ansible_aws_ssm_region: us-east-1}\n"
        "    i-0bbb: {node_cluster: nixl-efa-lab, ansible_aws_ssm_region: us-west-2}\n"
        "    i-0ccc: {node_cluster: nixl-efa-lab, ansible_aws_ssm_region: us-east-1}\n"
    )
    env = _environ(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    for playbook in ("playbooks/configure.yml", "playbooks/validate.yml", "verify_efa.yml"):
        command = [str(BIN / "ansible-playbook"), "-i", "inventories/lab/group_vars/..", "-i", str(inventory), playbook]
        # inventories/lab's own aws_ec2.yml answers nothing on the closed port: the nodes are the static ones.
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output[-4000:]
        flat = _flat(output)
        assert "lists nodes that are not of cluster nixl-efa-lab in us-east-1 (cluster_name, cluster_region)" in flat
        assert "i-0aaa (nixl-efa:cluster=other-cluster, region us-east-1)" in flat
        assert "i-0bbb (nixl-efa:cluster=nixl-efa-lab, region us-west-2)" in flat
        assert "i-0ccc" not in flat.split("lists nodes that are not", 1)[1].split("Nothing was configured", 1)[0]
        assert "PLAY [EFA, NCCL and NIXL" not in output and "PLAY [Validate the cluster]" not in output
