# -*- coding: utf-8 -*-
"""The progress callback: a task waiting in rounds says after each how far it got, in a real ansible-playbook run."""

import subprocess
import sys
from pathlib import Path

from ansible_collections.nixl_efa.cluster.plugins.callback.progress import Heartbeat
from ansible_collections.nixl_efa.cluster.plugins.callback.progress import elapsed_text
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


LONG = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Install something slow
      ansible.builtin.command: "sleep {{ 4 if inventory_hostname == 'slow' else 0 }}"
      changed_when: false
    - name: Something quick
      ansible.builtin.command: "true"
      changed_when: false
"""


def test_a_long_task_says_which_hosts_it_still_runs_on(tmp_path):
    (tmp_path / "play.yml").write_text(LONG)
    (tmp_path / "hosts.ini").write_text("slow\nquick\n")
    environ = playbook_environ(ANSIBLE_CALLBACKS_ENABLED="nixl_efa.cluster.progress", NIXL_EFA_PROGRESS_HEARTBEAT="2")
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.ini"), "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", str(tmp_path / "play.yml")],
        env=environ, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    said = [line for line in result.stdout.splitlines() if line.startswith("  [still running] ")]
    # At 2 s (and maybe 4 s, the machine's pace decides), only the slow host; never the quick task.
    assert said and said[0] == "  [still running] Install something slow: 2s, on 1 of 2 hosts: slow", result.stdout
    assert all(line.endswith("on 1 of 2 hosts: slow") and "Something quick" not in line for line in said), said


def test_heartbeat_says_one_line_per_period_while_hosts_run():
    beat = Heartbeat(30)
    assert beat.line(100.0) is None  # no task yet
    beat.start_task("Install MLflow", 100.0)
    for host in ("i-1", "i-2"):
        beat.start_host(host)
    assert beat.line(129.0) is None
    assert beat.line(130.5) == "  [still running] Install MLflow: 30s, on 2 of 2 hosts: i-1, i-2"
    assert beat.line(140.0) is None  # once per period
    beat.end_host("i-1")
    assert beat.line(220.0) == "  [still running] Install MLflow: 2m00s, on 1 of 2 hosts: i-2"
    beat.end_host("i-2")
    assert beat.line(400.0) is None  # every host done
    beat.start_task("Next", 500.0)
    assert beat.line(531.0) is None  # no host started yet
    assert Heartbeat(0).line(1e9) is None
    assert (elapsed_text(59.9), elapsed_text(61), elapsed_text(3600)) == ("59s", "1m01s", "60m00s")
