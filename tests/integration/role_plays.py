# -*- coding: utf-8 -*-
"""One role's entry points as a localhost play against the lab, and what the run reports.

The role tests (test_iam_s3.py, test_efs.py) apply a role once per (entry point, vars) pair in
one play, read ansible.posix.json's output (its `stats` give the changed count of the whole run,
its task results the messages of failed checks), and print the role's outputs in a last task.
"""

import json
import os
import pathlib
import subprocess
import sys
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Trust policy of a node role, as the iam_s3 role writes it: EC2 may assume it.
EC2_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})  # fmt: skip


def role_outputs(*names):
    """The Outputs task's message: each of the role's output facts, "" when unset."""
    return {name: f"{{{{ {name} | default('') }}}}" for name in names}


def role_play(role, region, url, outputs, *applications):
    """A localhost play applying `role` once per (entry point, vars) pair, then printing `outputs`.

    Written as JSON, which YAML reads as it is, so no value needs quoting.
    """
    tasks = [
        {"name": f"Apply {role} ({entry})",
         "ansible.builtin.include_role": {"name": role, "tasks_from": entry},
         "vars": variables}
        for entry, variables in applications
    ]  # fmt: skip
    tasks.append({"name": "Outputs", "ansible.builtin.debug": {"msg": outputs}})
    return [{
        "name": f"{role} on the lab",
        "hosts": "localhost",
        "gather_facts": False,
        "module_defaults": {"group/nixl_efa.cluster.aws": {
            "region": region, "endpoint_url": url, "access_key": "testing", "secret_key": "testing"}},
        "tasks": tasks,
    }]  # fmt: skip


class RoleRun:
    """One ansible-playbook run: exit status, changed count, changed and failed tasks, failure messages, outputs."""

    def __init__(self, returncode, document):
        self.returncode = returncode
        self.results = [
            (task["task"]["name"].rpartition(" : ")[2], result)
            for each in document["plays"]
            for task in each["tasks"]
            for result in task["hosts"].values()
        ]
        self.changed = document["stats"]["localhost"]["changed"]
        self.changed_tasks = [name for name, result in self.results if result.get("changed")]
        self.failed_tasks = [name for name, result in self.results if result.get("failed")]
        # ansible-core 2.21's callbacks see no "failed" key in a failed loop item: its exception says it.
        self.failures = [
            item.get("msg", "")
            for _task, result in self.results
            if result.get("failed")
            for item in [result, *result.get("results", [])]
            if item.get("failed", "exception" in item)
        ]
        outputs = [result["msg"] for name, result in self.results if name == "Outputs"]
        self.outputs = outputs[0] if outputs else None

    def messages(self, prefix):
        """The messages of the tasks whose names start with `prefix` and that ran."""
        return [result["msg"] for name, result in self.results if name.startswith(prefix) and not result.get("skipped")]


def run_role_play(tmp_path, text, check=False, expect_rc=0):
    """Run a play made by role_play; the lab is named in the play, never in the environment."""
    path = tmp_path / f"play-{uuid.uuid4().hex[:6]}.yml"
    path.write_text(json.dumps(text, indent=1))
    # JSON on stdout; ansible.cfg's profile_tasks would print into it, and an empty
    # ANSIBLE_CALLBACKS_ENABLED is refused, so the list names the stdout callback only.
    environ = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                   ANSIBLE_CALLBACKS_ENABLED="ansible.posix.json", ANSIBLE_JSON_INDENT="0",
                   AWS_MAX_ATTEMPTS="2")  # fmt: skip
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        environ.pop(name, None)
    result = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", str(path)] + (["--check"] if check else []),
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == expect_rc, result.stdout[-6000:] + result.stderr[-4000:]
    return RoleRun(result.returncode, json.loads(result.stdout))
