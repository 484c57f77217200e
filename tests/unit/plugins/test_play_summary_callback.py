# -*- coding: utf-8 -*-
"""The play_summary callback in a real ansible-playbook run: what a file task and an async task cost.

A host that is not the controller runs a copy, a template and an async command polled by Ansible,
through a connection plugin next to the play that is the local one under another name (the callback
does not count hosts on the local connection, and ansible-core 2.21 tells it the host's connection).
The JSON summary must count each module run on the node:
copy and template 2 (stat, then copy or file), the async command 3 (launch, the poll that saw it
end, the cleanup of its job), a loop of two copies 4.
"""

import json
import subprocess
import sys
from pathlib import Path

from tests.unit.playbook_env import playbook_environ

# The local connection under another name, so the host counts as a node.
RELAY = """
from ansible.plugins.connection.local import DOCUMENTATION as _LOCAL_DOC
from ansible.plugins.connection.local import Connection as _Local

DOCUMENTATION = _LOCAL_DOC.replace("name: local", "name: relay", 1)


class Connection(_Local):
    transport = "relay"
"""

PLAY = """
- hosts: node
  gather_facts: false
  tasks:
    - name: One file
      ansible.builtin.copy: {{content: "x\\n", dest: "{out}/one.txt", mode: "0644"}}
    - name: A template
      ansible.builtin.template: {{src: "{out}/t.j2", dest: "{out}/t.txt", mode: "0644"}}
    - name: Two files
      ansible.builtin.copy: {{content: "y\\n", dest: "{out}/{{{{ item }}}}.txt", mode: "0644"}}
      loop: [a, b]
    - name: Async
      ansible.builtin.command: "true"
      async: 30
      poll: 1
      changed_when: false
"""


def test_file_and_async_tasks_count_every_module_run(tmp_path):
    python = sys.executable
    (tmp_path / "t.j2").write_text("{{ 1 + 1 }}\n")
    (tmp_path / "connection_plugins").mkdir()
    (tmp_path / "connection_plugins" / "relay.py").write_text(RELAY)
    (tmp_path / "hosts.ini").write_text(f"node ansible_connection=relay ansible_python_interpreter={python}\n")
    (tmp_path / "play.yml").write_text(PLAY.format(out=tmp_path))
    summary = tmp_path / "summary.json"
    result = subprocess.run(
        [str(Path(python).parent / "ansible-playbook"), "-i", str(tmp_path / "hosts.ini"), str(tmp_path / "play.yml")],
        env=playbook_environ(NIXL_EFA_PLAY_SUMMARY_FILE=str(summary)), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data = json.loads(summary.read_text())
    invocations = {row["task"]: row["invocations"] for row in data["tasks"]}
    assert invocations == {"One file": 2, "A template": 2, "Two files": 4, "Async": 3}
    assert data["plays"][0]["hosts"]["node"]["remote_tasks"] == 11
