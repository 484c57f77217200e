# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: progress
type: aggregate
short_description: Say how far a long wait has got, after each round of it, and which hosts a long task still runs on
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
  - A task that runs longer than O(heartbeat) seconds - the node roles' installs, which wait on the node in one task
    instead of polls over Session Manager, or the health waits - gets a line every O(heartbeat) seconds naming the
    hosts it still runs on, so that a wait of minutes says where it is.
  - "Example: C(  [still running] Install MLflow into the venv: 2m00s, on 1 of 2 hosts: i-0abc123)."
  - Prints nothing else.
requirements:
  - Enabled in ansible.cfg (C(callbacks_enabled = nixl_efa.cluster.progress)) or with E(ANSIBLE_CALLBACKS_ENABLED).
options:
  heartbeat:
    description:
      - Seconds between the lines of a task still running; V(0) prints none.
    type: int
    default: 30
    env:
      - name: NIXL_EFA_PROGRESS_HEARTBEAT
    ini:
      - section: callback_progress
        key: heartbeat
"""

import threading
import time

from ansible.plugins.callback import CallbackBase


def progress_line(host, task_name, result):
    """The line one round's result gets, or None when it carries no progress."""
    said = result.get("progress")
    if not isinstance(said, str) or not said.strip():
        return None
    # Which round it was is Ansible's own FAILED - RETRYING line (ansible-core versions count it differently).
    return f"  [{host}] {task_name}: {said.strip()}"


def elapsed_text(seconds):
    """1m05s, 45s: how long a task has run."""
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Heartbeat:
    """Which hosts the current task still runs on, and the line to print every `every` seconds of it.

    Pure bookkeeping (times are given), so that it is tested without a thread or a playbook."""

    def __init__(self, every):
        self.every = every
        self.task = None
        self.started = None
        self.hosts = []
        self.running = set()
        self.said = 0

    def start_task(self, name, now):
        self.task, self.started, self.hosts, self.running, self.said = name, now, [], set(), 0

    def start_host(self, host):
        if host not in self.hosts:
            self.hosts.append(host)
        self.running.add(host)

    def end_host(self, host):
        self.running.discard(host)

    def line(self, now):
        """The line due at `now`, or None: one per whole `every` seconds the task has run, while hosts remain."""
        if not self.every or self.task is None or not self.running:
            return None
        due = int((now - self.started) // self.every)
        if due <= self.said:
            return None
        self.said = due
        names = [h for h in self.hosts if h in self.running]
        return (
            f"  [still running] {self.task}: {elapsed_text(now - self.started)}, on {len(names)} of "
            f"{len(self.hosts)} hosts: {', '.join(names)}"
        )


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "nixl_efa.cluster.progress"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._beat = None
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def set_options(self, *args, **kwargs):
        super().set_options(*args, **kwargs)
        every = int(self.get_option("heartbeat") or 0)
        if every > 0 and self._beat is None:
            self._beat = Heartbeat(every)
            threading.Thread(target=self._watch, name="nixl-efa-progress", daemon=True).start()

    def _watch(self):
        while not self._stop.wait(1.0):
            with self._lock:
                line = self._beat.line(time.monotonic())
            if line:
                self._display.display(line)

    def _task_start(self, task):
        if self._beat is not None:
            with self._lock:
                self._beat.start_task((task.name or task.action).strip(), time.monotonic())

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task)

    def v2_runner_on_start(self, host, task):
        if self._beat is not None:
            with self._lock:
                self._beat.start_host(host.get_name())

    def _host_done(self, result, *args, **kwargs):
        if self._beat is not None:
            with self._lock:
                self._beat.end_host(result._host.get_name())

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _host_done

    def v2_playbook_on_stats(self, stats):
        self._stop.set()

    def v2_runner_retry(self, result):
        task = (result._task.name or result._task.action).strip()
        line = progress_line(result._host.get_name(), task, result._result)
        if line:
            self._display.display(line)
