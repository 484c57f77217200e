# -*- coding: utf-8 -*-
"""The progress callback: a task waiting in rounds says after each how far it got, in a real ansible-playbook run."""

import subprocess
import sys
from pathlib import Path

from ansible_collections.nixl_efa.cluster.plugins.callback.progress import progress_line
from tests.unit.playbook_env import playbook_environ

# A module that counts its runs in a file and says how far it got, as ssm_managed_node_info does.
ROUNDS = """#!/usr/bin/python
from ansible.module_utils.basic import AnsibleModule

module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True), of=dict(type="int", required=True)))
try:
    with open(module.params["path"]) as handle:
        n = int(handle.read())
except OSError:
    n = 0
n += 1
with open(module.params["path"], "w") as handle:
    handle.write(str(n))
module.exit_json(changed=False, n=n, progress=f"{n} of {module.params['of']} rounds done")
"""

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Wait for the third round
      rounds: {{path: "{out}/n", of: 3}}
      register: waited
      until: waited.n >= 3
      retries: 4
      delay: 0
    - name: A retry with nothing to say
      ansible.builtin.shell: "test -e {out}/m || (touch {out}/m; exit 1)"
      register: quiet
      changed_when: false
      until: quiet.rc == 0
      retries: 2
      delay: 0
"""


def test_each_round_of_a_wait_is_said_and_nothing_else(tmp_path):
    (tmp_path / "library").mkdir()
    (tmp_path / "library" / "rounds.py").write_text(ROUNDS)
    (tmp_path / "play.yml").write_text(PLAY.format(out=tmp_path))
    environ = playbook_environ(ANSIBLE_CALLBACKS_ENABLED="nixl_efa.cluster.progress")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         str(tmp_path / "play.yml")],
        env=environ, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    said = [line for line in result.stdout.splitlines() if line.startswith("  [localhost] ")]
    assert said == [
        "  [localhost] Wait for the third round: 1 of 3 rounds done",
        "  [localhost] Wait for the third round: 2 of 3 rounds done",
    ], result.stdout


def test_progress_line_says_the_round_and_only_when_there_is_progress():
    line = progress_line("localhost", "Wait", {"progress": " 1 of 2 nodes Online; not yet: i-2\n", "attempts": 3})
    assert line == "  [localhost] Wait: 1 of 2 nodes Online; not yet: i-2"
    assert progress_line("h", "Wait", {"progress": "done"}) == "  [h] Wait: done"
    for result in ({}, {"progress": ""}, {"progress": "   "}, {"progress": {"n": 1}}, {"rc": 1}):
        assert progress_line("h", "Wait", result) is None
