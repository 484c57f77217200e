# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Accounting behind the nixl_efa.cluster.play_summary callback: plays, hosts, remote tasks, time.

Pure logic (no Ansible objects), unit tested without running a playbook. A *remote task* is a
task run on a host other than the controller that executes something there: not delegated to
the controller and not one of the actions that only run on the controller (such as set_fact
or debug). Every such invocation over amazon.aws.aws_ssm is a round trip through Session
Manager, which is what the performance goal counts; a loop counts once per item and every
`until` retry once more. A file task runs two modules per invocation (copy and template: a stat of
the destination, then the copy or, when nothing changed, the file module for its attributes;
unarchive: a stat, then unarchive); an `async` task polled by Ansible runs the module once, then
async_status once per poll and once more to clean up.
"""

from __future__ import annotations

CONTROLLER_ACTIONS = frozenset(
    name
    for short in (
        "add_host",
        "assert",
        "debug",
        "fail",
        "group_by",
        "include_role",
        "include_tasks",
        "include_vars",
        "import_role",
        "import_tasks",
        "meta",
        "pause",
        "set_fact",
        "set_stats",
        "validate_argument_spec",
    )
    for name in (short, "ansible.builtin." + short, "ansible.legacy." + short)
)
# Modules a file action runs on the node per invocation (the action plugins of ansible-core:
# copy and template stat the destination first; unarchive stats it too).
MODULES_PER_INVOCATION = {
    name: count
    for short, count in (("copy", 2), ("template", 2), ("unarchive", 2))
    for name in (short, "ansible.builtin." + short, "ansible.legacy." + short)
}
CONTROLLER_HOSTS = frozenset(("localhost", "127.0.0.1", "::1"))
STATUSES = ("ok", "changed", "failed", "skipped", "unreachable")


def async_invocations(polls, finished):
    """Module runs of an async task polled by Ansible, beyond its launch: `polls` reported polls (the
    v2_runner_on_async_poll callbacks, which leave out the last poll, the one that saw the job end),
    then, when it finished, that last poll and async_status's cleanup."""
    return polls + (2 if finished else 0)


def is_remote(host, action, delegated_to=None, connection=None):
    """True when a task result stands for work done on a remote host."""
    if action in CONTROLLER_ACTIONS:
        return False
    target = delegated_to or host
    if target in CONTROLLER_HOSTS:
        return False
    return connection not in ("local", "ansible.builtin.local")


class PlaySummary:
    """Counts per play and host (statuses, remote task invocations and their seconds), and a row per task result."""

    def __init__(self):
        self.plays = []
        self.tasks = []

    def start_play(self, name, started):
        self.plays.append({"name": name, "started": started, "ended": started, "hosts": {}})

    def _host(self, host):
        if not self.plays:
            self.start_play("", 0.0)
        hosts = self.plays[-1]["hosts"]
        if host not in hosts:
            hosts[host] = dict.fromkeys(STATUSES, 0)
            hosts[host].update(remote_tasks=0, remote_seconds=0.0)
        return hosts[host]

    def result(
        self, host, status, *, remote, seconds, ended, items=0, retries=0, async_calls=0, role="", task="", action=""
    ):
        """One task result on one host: a loop's final result once, with how many items and retries it ran
        and the module runs of its async polling (async_invocations)."""
        counts = self._host(host)
        counts[status] += 1
        ran = remote and status != "skipped"
        per_invocation = MODULES_PER_INVOCATION.get(action, 1)
        invocations = (max(items, 1) + retries) * per_invocation + async_calls if ran else 0
        if ran:
            counts["remote_tasks"] += invocations
            counts["remote_seconds"] += max(seconds, 0.0)
        self.plays[-1]["ended"] = max(self.plays[-1]["ended"], ended)
        self.tasks.append(
            {
                "play": self.plays[-1]["name"],
                "role": role,
                "task": task,
                "action": action,
                "host": host,
                "status": status,
                "remote": remote,
                "invocations": invocations,
                "retries": retries,
                "seconds": round(max(seconds, 0.0), 3),
            }
        )

    def as_dict(self):
        plays = []
        for play in self.plays:
            hosts = {
                name: dict(counts, remote_seconds=round(counts["remote_seconds"], 3))
                for name, counts in sorted(play["hosts"].items())
            }
            plays.append(
                {
                    "name": play["name"],
                    "seconds": round(play["ended"] - play["started"], 3),
                    "hosts": hosts,
                    "changed": sum(h["changed"] for h in hosts.values()),
                    "failed": sum(h["failed"] + h["unreachable"] for h in hosts.values()),
                }
            )
        return {"plays": plays, "tasks": list(self.tasks)}


def render_table(summary):
    """The summary as a fixed-width table, one row per play, then remote tasks per host."""
    rows = [("Play", "Hosts", "ok", "changed", "failed", "skipped", "seconds")]
    for play in summary["plays"]:
        hosts = play["hosts"].values()
        rows.append(
            (
                play["name"] or "(unnamed)",
                str(len(play["hosts"])),
                str(sum(h["ok"] for h in hosts)),
                str(play["changed"]),
                str(play["failed"]),
                str(sum(h["skipped"] for h in hosts)),
                f"{play['seconds']:.1f}",
            )
        )
    lines = _table(rows)
    remote = {host: totals for host, totals in host_totals(summary).items() if totals["remote_tasks"]}
    if remote:
        rows = [("Host", "remote tasks", "seconds", "seconds per task")]
        for host, totals in sorted(remote.items()):
            rows.append(
                (
                    host,
                    str(totals["remote_tasks"]),
                    f"{totals['remote_seconds']:.1f}",
                    f"{totals['seconds_per_remote_task']:.2f}",
                )
            )
        lines += [""] + _table(rows)
    return "\n".join(lines)


def host_totals(summary):
    """Per host, over every play of a summary (as_dict()): the statuses, the remote task invocations,
    their seconds, and the seconds per remote task (None without any)."""
    hosts = {}
    for play in summary["plays"]:
        for host, counts in play["hosts"].items():
            total = hosts.setdefault(host, dict.fromkeys(STATUSES + ("remote_tasks", "remote_seconds"), 0))
            for key in total:
                total[key] += counts.get(key, 0)
    for total in hosts.values():
        total["remote_seconds"] = round(total["remote_seconds"], 3)
        tasks = total["remote_tasks"]
        total["seconds_per_remote_task"] = round(total["remote_seconds"] / tasks, 3) if tasks else None
    return hosts


def _table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out
