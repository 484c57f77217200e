"""The README's commands as written: the default inventory, and a clear failure when it matched no node.

ansible.cfg makes inventories/aws the inventory when -i is not given, so `ansible-playbook verify_efa.yml`
reads the cluster's nodes from EC2. When no node matched, verify_efa.yml, playbooks/validate.yml and
playbooks/configure.yml stop in their first play (playbooks/tasks/cluster_nodes.yml) with a message naming
the inventory, the cluster and the aws_ec2 filter, instead of "skipping: no hosts matched" and exit 0.

No network and no AWS: the inventories here are empty files, and the one run through inventories/aws
sends every AWS client through a proxy on a closed port of 127.0.0.1.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from playbook_env import playbook_environ

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONFIG = ROOT / "ansible.cfg"
AWS_INVENTORY = ROOT / "inventories" / "aws"
PLAYBOOKS = ("verify_efa.yml", "playbooks/validate.yml", "playbooks/configure.yml")
# The first play of each playbook aimed at the nodes: none of them may start.
NODE_PLAYS = ("PLAY [Verify EFA]", "PLAY [Validate the cluster]", "PLAY [EFA, NCCL and NIXL on every node]")
# What the message must say (whitespace aside): the inventory comes first, then these.
MESSAGE = (
    "No node of the cluster matched: the inventory",
    "has no host in the group nixl_efa_nodes",
    "the tag nixl-efa:cluster",
    "instance-state-name running",
    "playbooks/provision.yml",
    "playbooks/site.yml",
    "check -i",
    "the AWS credentials and the region",
    "the nodes are running",
    "the filter tag:nixl-efa:cluster in aws_ec2.yml equals cluster_name",
)


def _environ(**extra):
    """No AWS: should an inventory reach for AWS after all, it gets a refused connection on loopback, not the
    network, through a proxy on a closed port (an AWS_ENDPOINT_URL on loopback would be refused by the
    playbooks' guard as the lab's exports left in the shell of a real inventory)."""
    proxy = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    return playbook_environ(**proxy, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", **extra)


def _run(args, env):
    result = subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return result.returncode, result.stdout + result.stderr


def _flat(text):
    return " ".join(text.split())


@pytest.fixture
def empty_inventory(tmp_path):
    path = tmp_path / "no_nodes.ini"
    path.write_text("[nixl_efa_nodes]\n")
    return path


def _assert_stopped_naming(output, inventory):
    flat = _flat(output)
    assert f"No node of the cluster matched: the inventory {inventory} has no host" in flat, output[-4000:]
    for part in MESSAGE:
        assert part in flat, (part, output[-4000:])
    assert not any(play in output for play in NODE_PLAYS), output[-4000:]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_no_node_with_i_fails_naming_the_inventory(playbook, empty_inventory):
    rc, output = _run(["ansible-playbook", "-i", str(empty_inventory), playbook], _environ())
    assert rc != 0, output[-4000:]
    _assert_stopped_naming(output, empty_inventory)
    assert "Cluster: (cluster_name is not set)." in _flat(output)


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_no_node_without_i_fails_through_the_configured_inventory(playbook, empty_inventory):
    """No -i: the default inventory (here replaced through ANSIBLE_INVENTORY) is read and the check is reached."""
    rc, output = _run(["ansible-playbook", playbook], _environ(ANSIBLE_INVENTORY=str(empty_inventory)))
    assert rc != 0, output[-4000:]
    _assert_stopped_naming(output, empty_inventory)
    # inventories/aws was not read: nothing asked EC2.
    assert str(AWS_INVENTORY) not in output, output[-4000:]
    assert "Failed to parse inventory" not in output, output[-4000:]


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_a_node_lets_the_playbook_go_on(playbook, tmp_path):
    """With a node in nixl_efa_nodes the check passes; --limit localhost keeps the node plays from running."""
    inventory = tmp_path / "one_node.ini"
    inventory.write_text("localhost ansible_connection=local\n\n[nixl_efa_nodes]\nnode-0\n")
    # The services' credentials given as a vault would give them: configure.yml and validate.yml then ask
    # Secrets Manager nothing (playbooks/tasks/service_credentials.yml).
    given = ["-e", "vllm_api_key=given-key-0123456789abcdef", "-e", "mlflow_admin_password=given-password-0123456789"]
    rc, output = _run(["ansible-playbook", "-i", str(inventory), "--limit", "localhost", playbook, *given], _environ())
    assert rc == 0, output[-4000:]
    assert "No node of the cluster matched" not in output
    assert "ok: [localhost]" in output, output[-4000:]
    assert any(play in output for play in NODE_PLAYS), output[-4000:]


def test_verify_efa_as_written_reads_inventories_aws_and_names_the_cluster():
    """`ansible-playbook verify_efa.yml`: inventories/aws (EC2 refused on loopback), its cluster and region named."""
    rc, output = _run(["ansible-playbook", "verify_efa.yml"], _environ())
    assert rc != 0, output[-4000:]
    _assert_stopped_naming(output, AWS_INVENTORY)
    cluster = yaml.safe_load((AWS_INVENTORY / "group_vars" / "all" / "cluster.yml").read_text())
    named = f"Cluster: {cluster['cluster_name']}, region {cluster['cluster_region']}."
    assert named in _flat(output), output[-4000:]


def test_default_inventory_is_inventories_aws():
    rc, output = _run(["ansible-config", "dump", "--only-changed"], _environ())
    assert rc == 0, output
    line = re.search(r"^DEFAULT_HOST_LIST\((.*?)\) = (.*)$", output, re.MULTILINE)
    assert line, output
    assert Path(line.group(1)) == CONFIG, line.group(0)
    assert line.group(2) == repr([str(AWS_INVENTORY)]), line.group(0)
