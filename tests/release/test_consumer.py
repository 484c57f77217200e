# -*- coding: utf-8 -*-
"""A user's collection (tests/consumer: acme.gpu_ops) reuses ours from the installed tarball.

acme.gpu_ops depends on nixl_efa.cluster in its galaxy.yml and calls our roles and modules by
FQCN: nixl_efa.cluster.network against the lab's local AWS, nixl_efa.cluster.efa on a Debian 12
systemd container reached through community.docker.docker. Nothing here sees this checkout's
collection: see conftest.py.
"""

import json
import os
import subprocess
import time

import boto3
import pytest
from release_helpers import BIN
from release_helpers import ROOT
from release_helpers import PlaybookRun
from release_helpers import run

NODE = "consumer-node-0"


def _playbook(env, cwd, playbook, *args, inventory="localhost,", extra_env=None, timeout=600):
    command = [BIN / "ansible-playbook", "-i", inventory, playbook, *args]
    result = run(command, dict(env, **(extra_env or {})), cwd, timeout=timeout, check=False)
    return PlaybookRun(result)


def _lab(url):
    return {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def test_consumer_installs_offline_against_the_installed_collection(consumer, installed):
    path, output = consumer
    assert (path / "roles" / "cluster_network").is_dir()
    assert "nixl_efa.cluster:" in output and "is already installed" in output, output


def test_network_role_reused_against_the_lab(consumer, consumer_env, release_dir, lab_aws, tmp_path, timings):
    report = tmp_path / "network.json"
    args = ["-e", "cluster_network_name=acme-net", "-e", f"report={report}",
            "-e", f"ansible_python_interpreter={BIN / 'python'}"]  # fmt: skip
    start = time.monotonic()
    args += ["-c", "local"]
    first = _playbook(consumer_env, release_dir, "acme.gpu_ops.network", *args, extra_env=_lab(lab_aws))
    timings["consumer network play (first run)"] = time.monotonic() - start
    assert first.rc == 0, first.stdout[-6000:]
    assert first.recap.get("changed", 0) > 0
    made = json.loads(report.read_text())
    assert made["vpc_id"].startswith("vpc-") and made["subnet_id"].startswith("subnet-"), made
    assert made["security_group_id"].startswith("sg-") and made["efa_interfaces"] == 32, made

    ec2 = boto3.client(
        "ec2", region_name="us-east-1", endpoint_url=lab_aws,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    (group,) = ec2.describe_security_groups(GroupIds=[made["security_group_id"]])["SecurityGroups"]
    tags = {t["Key"]: t["Value"] for t in group.get("Tags", [])}
    assert tags.get("team") == "acme" and tags.get("nixl-efa:cluster") == "acme-net", tags
    assert all(r.get("FromPort") != 22 for r in group["IpPermissions"]), group["IpPermissions"]

    start = time.monotonic()
    again = _playbook(consumer_env, release_dir, "acme.gpu_ops.network", *args, extra_env=_lab(lab_aws))
    timings["consumer network play (second run)"] = time.monotonic() - start
    assert again.rc == 0, again.stdout[-6000:]
    assert again.recap.get("changed") == 0, again.changed_tasks()


# (playbook, extra vars, what the failure must name): each stops at an argument spec, before any task.
BAD_INPUT = {
    "consumer-role-missing": ("acme.gpu_ops.network", [], ["cluster_network_name", "acme.gpu_ops.cluster_network"]),
    "our-role-missing": ("acme.gpu_ops.network_direct", [], ["network_cluster_name", "nixl_efa.cluster.network"]),
    "our-role-wrong-type": (
        "acme.gpu_ops.network_direct", ["-e", "network_cluster_name=acme", "-e", "network_vllm_port=eighty"],
        ["network_vllm_port"],
    ),
    "our-role-wrong-choice-through-consumer": (
        "acme.gpu_ops.node", ["-e", "efa_install_method=rpm"], ["efa_install_method", "nixl_efa.cluster.efa"],
    ),
    "consumer-role-wrong-choice": ("acme.gpu_ops.node", ["-e", "node_fabric_method=rpm"], ["node_fabric_method"]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_bad_input_stops_at_the_argument_spec(case, consumer, consumer_env, release_dir, tmp_path):
    playbook, args, names = BAD_INPUT[case]
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"gpu_nodes": {"hosts": {"localhost": {}}}}))
    # No AWS at all: a failure must come from the argument spec, before any AWS call.
    env = dict(consumer_env, AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x")
    outcome = _playbook(
        env, release_dir, playbook, "-c", "local", "-e", f"ansible_python_interpreter={BIN / 'python'}", *args,
        inventory=str(inventory),
    )  # fmt: skip
    assert outcome.rc != 0, outcome.stdout[-4000:]
    # The task that failed is a role's argument validation, and its message names the variable.
    failed_at = outcome.stdout.index("fatal: [localhost]")
    task = outcome.stdout.rindex("TASK [", 0, failed_at)
    failure = outcome.stdout[task:]
    assert "Validating arguments against arg spec" in failure.splitlines()[0], failure[:3000]
    for name in names:
        assert name in failure, f"{name} not named:\n{failure[:3000]}"
    assert outcome.recap.get("changed", 0) == 0


@pytest.fixture
def node():
    """A Debian 12 systemd container from lab/node_image.sh, host networking, removed at the end."""
    subprocess.run([ROOT / "lab" / "docker_engine.sh"], check=True, capture_output=True)
    image = subprocess.run([ROOT / "lab" / "node_image.sh"], check=True, capture_output=True, text=True)
    image = image.stdout.strip().splitlines()[-1]
    subprocess.run(["docker", "rm", "-f", NODE], capture_output=True, check=False)
    subprocess.run(
        ["docker", "run", "-d", "--name", NODE, "--hostname", NODE, "--label", "nixl-efa.test=release",
         "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined", "--tmpfs", "/run", "--tmpfs", "/run/lock",
         "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--network", "host",
         image, "/lib/systemd/systemd"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            state = subprocess.run(
                ["docker", "exec", NODE, "systemctl", "is-system-running"], capture_output=True, text=True, check=False
            ).stdout.strip()
            if state in ("running", "degraded") or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        yield NODE
    finally:
        subprocess.run(["docker", "rm", "-f", NODE], capture_output=True, check=False)


def test_efa_role_reused_on_a_node(node, consumer, consumer_env, release_dir, tmp_path, timings):
    inventory = tmp_path / "nodes.yml"
    host = {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}
    inventory.write_text(json.dumps({"gpu_nodes": {"hosts": {node: host}}}))
    start = time.monotonic()
    outcome = _playbook(
        consumer_env, release_dir, "acme.gpu_ops.node", "-e", "node_fabric_method=packages", inventory=str(inventory),
    )  # fmt: skip
    timings["consumer node play (efa role, packages)"] = time.monotonic() - start
    assert outcome.rc == 0, outcome.stdout[-6000:]
    fact = subprocess.run(
        ["docker", "exec", node, "cat", "/etc/ansible/facts.d/nixl_efa_efa.fact"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    fact = json.loads(fact)
    assert fact["source"] == "packages" and fact["installed"], fact
    fi_info = subprocess.run(
        ["docker", "exec", node, "fi_info", "--version"], capture_output=True, text=True, check=False
    )
    assert fi_info.returncode == 0, fi_info.stderr
    assert os.environ.get("ANSIBLE_COLLECTIONS_PATH", "") != str(ROOT)
