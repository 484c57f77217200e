"""The validation role warns, at its start, when forks is below the number of nodes.

Every node runs its part of the checks between nodes in one task, all at once (tasks/jobs.yml), so
with fewer forks than nodes the checks could not meet; the plan then skips them with the reason
(tests/unit/plugins/plugin_utils/test_validation_jobs.py). The role's own input checks
(tasks/validate.yml) on two local hosts, with -f 1 and -f 2.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.playbook_env import ROOT
from tests.unit.playbook_env import playbook_environ

PLAY = """
- hosts: nixl_efa_nodes
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: nixl_efa.cluster.validation
        tasks_from: validate.yml
"""


@pytest.mark.parametrize(("forks", "warned"), [(1, True), (2, False)])
def test_fewer_forks_than_nodes_is_warned_with_the_fix(tmp_path, forks, warned):
    (tmp_path / "hosts.ini").write_text(
        "[nixl_efa_nodes]\nnode-0 node_private_ip=10.0.0.1\nnode-1 node_private_ip=10.0.0.2\n"
        f"[nixl_efa_nodes:vars]\nansible_connection=local\nansible_python_interpreter={sys.executable}\n"
    )
    (tmp_path / "play.yml").write_text(PLAY)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "hosts.ini", "play.yml", "-f", str(forks)],
        cwd=tmp_path, env=playbook_environ(ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".collections")),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = " ".join(result.stdout.split())
    assert ("WARNING: forks is 1, fewer than the 2 nodes of this play" in out) is warned, out
    if warned:
        assert "the checks with more nodes than forks are reported as skipped" in out
        assert "Set forks to 2 or more" in out
