# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: play_summary
type: aggregate
short_description: A table of plays and of remote task invocations per host at the end of a run
version_added: 0.1.0
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
description:
  - At the end of a run, prints one row per play (hosts, ok, changed, failed, skipped, wall time)
    and, per host, how many tasks ran something on that host and the seconds they took.
  - A remote task is a task run on a host other than the controller, not delegated to it, and
    not an action that only runs on the controller (set_fact, debug, assert, ...). Over
    M(amazon.aws.aws_ssm) each module run is a round trip through Session Manager; a loop counts once
    per item, every C(until) retry once more, copy, template and unarchive twice (a stat of the
    destination, then the copy or file module), and an C(async) task polled by Ansible once more per
    poll and once for the cleanup of its job.
  - Per-play counts make "a second run changes nothing" checkable play by play, for example
    provisioning and configuration separately within C(site.yml).
  - Optionally writes the same figures as JSON, for benchmarks and tests.
requirements:
  - Enabled in ansible.cfg (C(callbacks_enabled = nixl_efa.cluster.play_summary)) or with
    E(ANSIBLE_CALLBACKS_ENABLED).
options:
  output_file:
    description:
      - Where to write the summary as JSON, an object with a C(plays) list; each play has C(name),
        C(seconds), C(changed), C(failed) and C(hosts), a mapping of host name to C(ok), C(changed),
        C(failed), C(skipped), C(unreachable), C(remote_tasks) and C(remote_seconds).
      - The object also has a C(tasks) list, one entry per task result and host, with C(play),
        C(role), C(task), C(action), C(host), C(status), C(remote), C(invocations), C(retries) and
        C(seconds), which shows the tasks that cost the round trips.
      - Empty (the default) writes no file.
    type: str
    default: ""
    env:
      - name: NIXL_EFA_PLAY_SUMMARY_FILE
    ini:
      - section: callback_play_summary
        key: output_file
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import PlaySummary
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import async_invocations
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import is_remote
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import render_table


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "nixl_efa.cluster.play_summary"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.summary = PlaySummary()
        self.started = {}
        self.items = {}
        self.retries = {}
        self.polls = {}

    def v2_playbook_on_play_start(self, play):
        self.summary.start_play(play.get_name().strip(), time.monotonic())

    def v2_runner_on_start(self, host, task):
        self.started[(host.get_name(), task._uuid)] = time.monotonic()

    def _result(self, result, status):
        host = result._host.get_name()
        task = result._task
        key = (host, task._uuid)
        now = time.monotonic()
        started = self.started.pop(key, now)
        delegated = (result._result.get("_ansible_delegated_vars") or {}).get("ansible_host")
        if delegated is None and task.delegate_to:
            delegated = task.delegate_to
        connection = getattr(task, "connection", None)
        async_calls = 0
        if getattr(task, "async_val", 0) and getattr(task, "poll", 0):
            polls = self.polls.pop((host, result._result.get("ansible_job_id")), 0)
            async_calls = async_invocations(polls, bool(result._result.get("finished")))
        self.summary.result(
            host,
            status,
            remote=is_remote(host, task.action, delegated_to=delegated, connection=connection),
            seconds=now - started,
            ended=now,
            items=self.items.pop(key, 0),
            retries=self.retries.pop(key, 0),
            async_calls=async_calls,
            role=task._role.get_name(include_role_fqcn=False) if task._role else "",
            task=(task.name or task.action).strip(),
            action=task.action,
        )

    def _item(self, result):
        key = (result._host.get_name(), result._task._uuid)
        if not result._result.get("skipped"):
            self.items[key] = self.items.get(key, 0) + 1

    def v2_runner_retry(self, result):
        key = (result._host.get_name(), result._task._uuid)
        self.retries[key] = self.retries.get(key, 0) + 1

    def v2_runner_on_async_poll(self, result):
        # Polls come from an async_status task of their own: matched to the task by the job id.
        key = (result._host.get_name(), result._result.get("ansible_job_id"))
        self.polls[key] = self.polls.get(key, 0) + 1

    def v2_runner_item_on_ok(self, result):
        self._item(result)

    def v2_runner_item_on_failed(self, result):
        self._item(result)

    def v2_runner_on_ok(self, result):
        self._result(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        data = self.summary.as_dict()
        self._display.banner("PLAY SUMMARY")
        self._display.display(render_table(data))
        path = self.get_option("output_file")
        if path:
            path = os.path.expanduser(path)
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
                handle.write("\n")
