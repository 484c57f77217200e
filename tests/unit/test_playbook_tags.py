"""Tags pick the parts of site.yml: provision, efa, nccl, nixl, mlflow, vllm, validation.

`ansible-playbook --list-tasks` with each tag, over a static inventory of two nodes: the tagged part's
tasks are listed and no other part's; the inventory guard and the credentials are listed whatever the
tag; --skip-tags validation lists every part but validation. No host is contacted.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from playbook_env import playbook_environ

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
INVENTORY = "[nixl_efa_nodes]\nn0\nn1\n[mlflow]\nn0\n[prefill]\nn0\n[decode]\nn1\n"
ROLES = ("efa", "nccl", "nixl", "mlflow", "vllm", "validation")
# A task of provision.yml's own (not the guard, which always runs).
PROVISION_TASK = "Check the region answered with its zones"
ALWAYS = ("Refuse nodes of another cluster or region", "The vLLM API key, generated once into Secrets Manager")


def listed(tmp_path, *args):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(INVENTORY)
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), "playbooks/site.yml", "--list-tasks", *args]
    result = subprocess.run(command, cwd=ROOT, env=playbook_environ(), capture_output=True, text=True, timeout=300,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def roles_with_tasks(text):
    """The roles with a listed task besides their argument-spec check (which every role has, tagged always)."""
    found = re.findall(r"nixl_efa\.cluster\.(\w+) : (?!Validating arguments against arg spec)", text)
    return set(found) & set(ROLES)


@pytest.mark.parametrize("tag", [*ROLES, "provision"])
def test_a_tag_lists_its_part_and_no_other(tmp_path, tag):
    text = listed(tmp_path, "--tags", tag)
    assert roles_with_tasks(text) == ({tag} if tag in ROLES else set()), text
    assert (PROVISION_TASK in text) is (tag == "provision")
    for task in ALWAYS:
        assert task in text, task


def test_skip_tags_validation_lists_everything_but_validation(tmp_path):
    text = listed(tmp_path, "--skip-tags", "validation")
    assert roles_with_tasks(text) == set(ROLES) - {"validation"}, text
    assert PROVISION_TASK in text
