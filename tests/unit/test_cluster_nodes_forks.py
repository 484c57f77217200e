# -*- coding: utf-8 -*-
"""playbooks/tasks/cluster_nodes.yml warns when forks is below the node count, and only then.

Ansible runs a task on `forks` hosts at a time (default 5): with 8 nodes and the default, each
node-side task over Session Manager takes two rounds. The first play of configure, validate and
verify_efa says so, with the number to set. Run as a localhost play over a static inventory.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.playbook_env import ROOT
from tests.unit.playbook_env import playbook_environ

PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    cluster_name: demo
    cluster_region: us-east-1
  tasks:
    - ansible.builtin.import_tasks: {tasks}
"""


def run(tmp_path, nodes, forks):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[nixl_efa_nodes]\n" + "".join(f"node-{i}\n" for i in range(nodes)))
    play = tmp_path / "play.yml"
    play.write_text(PLAY.format(tasks=ROOT / "playbooks" / "tasks" / "cluster_nodes.yml"))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(play), "-f", str(forks)],
        cwd=ROOT, env=playbook_environ(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return " ".join(result.stdout.split())


@pytest.mark.parametrize(("nodes", "forks", "rounds"), [(8, 5, 2), (11, 5, 3), (3, 2, 2)])
def test_fewer_forks_than_nodes_is_warned_with_the_rounds_and_the_fix(tmp_path, nodes, forks, rounds):
    out = run(tmp_path, nodes, forks)
    assert f"WARNING: forks is {forks}, fewer than the {nodes} nodes of the cluster" in out, out
    assert f"so it takes {rounds} rounds of Session Manager calls" in out
    assert f"Set forks to {nodes} or more" in out


@pytest.mark.parametrize(("nodes", "forks"), [(2, 10), (8, 8)])
def test_enough_forks_says_nothing(tmp_path, nodes, forks):
    out = run(tmp_path, nodes, forks)
    assert "WARNING: forks is" not in out, out
