# -*- coding: utf-8 -*-
"""Benchmark-only callback: every task result per host, with its role, remote invocations and seconds.

Enabled by bench/run.py only (ANSIBLE_CALLBACK_PLUGINS=bench/callback_plugins and
ANSIBLE_CALLBACKS_ENABLED naming bench_tasks); never shipped with the collection. It complements
nixl_efa.cluster.play_summary, which counts per play and host, by saying WHICH tasks cost the round
trips: a remote task (the same rule as play_summary's, from plugin_utils.play_summary.is_remote)
counts one invocation per loop item, and every `until` retry is one more.

Writes a JSON list to the file named by BENCH_TASKS_FILE:
  [{"play", "role", "task", "action", "host", "status", "remote", "invocations", "retries", "seconds"}, ...]
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import is_remote

DOCUMENTATION = r"""
name: bench_tasks
type: aggregate
short_description: Per-task remote invocations and seconds for bench/run.py
description:
  - Writes every task result per host to the JSON file named by BENCH_TASKS_FILE.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_tasks"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.play = ""
        self.started = {}
        self.items = {}
        self.retries = {}
        self.rows = []

    def v2_playbook_on_play_start(self, play):
        self.play = play.get_name().strip()

    def v2_runner_on_start(self, host, task):
        self.started[(host.get_name(), task._uuid)] = time.monotonic()

    def _key(self, result):
        return (result._host.get_name(), result._task._uuid)

    def _item(self, result):
        if not result._result.get("skipped"):
            key = self._key(result)
            self.items[key] = self.items.get(key, 0) + 1

    def v2_runner_item_on_ok(self, result):
        self._item(result)

    def v2_runner_item_on_failed(self, result):
        self._item(result)

    def v2_runner_retry(self, result):
        key = self._key(result)
        self.retries[key] = self.retries.get(key, 0) + 1

    def _result(self, result, status):
        key = self._key(result)
        task = result._task
        now = time.monotonic()
        started = self.started.pop(key, now)
        delegated = (result._result.get("_ansible_delegated_vars") or {}).get("ansible_host")
        if delegated is None and task.delegate_to:
            delegated = task.delegate_to
        remote = is_remote(key[0], task.action, delegated_to=delegated, connection=getattr(task, "connection", None))
        items = self.items.pop(key, 0)
        retries = self.retries.pop(key, 0)
        ran = remote and status != "skipped"
        self.rows.append(
            {
                "play": self.play,
                "role": task._role.get_name(include_role_fqcn=False) if task._role else "",
                "task": (task.name or task.action).strip(),
                "action": task.action,
                "host": key[0],
                "status": status,
                "remote": remote,
                "invocations": (max(items, 1) + retries) if ran else 0,
                "retries": retries,
                "seconds": round(now - started, 3),
            }
        )

    def v2_runner_on_ok(self, result):
        self._result(result, "changed" if result._result.get("changed") else "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("BENCH_TASKS_FILE")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(self.rows, handle, indent=1)
                handle.write("\n")
