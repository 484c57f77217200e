# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: progress
type: aggregate
short_description: Say how far a long wait has got, after each round of it
version_added: 0.2.0
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
description:
  - A task that waits in rounds (C(until) with C(retries)) and returns a C(progress) text after each round - such as
    the instances role's wait for Session Manager, through M(nixl_efa.cluster.ssm_managed_node_info) -
    gets that text printed after each round, under Ansible's own C(FAILED - RETRYING) line, instead of minutes
    of silence.
  - "Example: C(  [localhost] Wait until Session Manager reports the nodes Online: 1 of 2 nodes Online in Session
    Manager; not yet: i-0abc123)."
  - Prints nothing for tasks that return no C(progress), and nothing else.
requirements:
  - Enabled in ansible.cfg (C(callbacks_enabled = nixl_efa.cluster.progress)) or with E(ANSIBLE_CALLBACKS_ENABLED).
"""

from ansible.plugins.callback import CallbackBase


def progress_line(host, task_name, result):
    """The line one round's result gets, or None when it carries no progress."""
    said = result.get("progress")
    if not isinstance(said, str) or not said.strip():
        return None
    # Which round it was is Ansible's own FAILED - RETRYING line (ansible-core versions count it differently).
    return f"  [{host}] {task_name}: {said.strip()}"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "nixl_efa.cluster.progress"
    CALLBACK_NEEDS_ENABLED = True

    def v2_runner_retry(self, result):
        task = (result._task.name or result._task.action).strip()
        line = progress_line(result._host.get_name(), task, result._result)
        if line:
            self._display.display(line)
