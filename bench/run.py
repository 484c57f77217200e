"""Benchmarks of nixl_efa.cluster on the lab (see bench/README.md and docs/PERFORMANCE.md).

    .venv/bin/python bench/run.py [--port 5071] [--image IMAGE] [--latency 0.3] [--skip-dlami]
    make bench                                     (the same, with Docker started and the node image built)

On a lab of its own (moto and the stand-ins on 127.0.0.1:PORT, every instance a Debian 12 systemd
container), one after the other:

1. provision.yml twice (-i inventories/lab): the first run and the immediate re-run, each timed,
   with its changed count and the AWS API calls the lab answered (reset between the runs);
2. configure.yml on the fresh nodes (the full install), then again (idempotent re-run), then again
   with LAB_SSM_COMMAND_LATENCY (each line sent to a node that much later, like Session Manager's
   round trips): remote task invocations and seconds per host, per task, wall time, API calls;
3. validate.yml, three times (--validate-runs): the validation report's NIXL transfer GB/s, the
   plain memory copy's GB/s on the same host, and the share, each run and their median;
4. `make demo-down`, a new lab, provision.yml (untimed), bench/dlami_efa.yml (untimed: the EFA
   userspace and the EFA installer's marker on the nodes, as a Deep Learning AMI has them), then
   configure.yml timed: the DLAMI case;
5. `make demo-down`, always, also after a failure or an interrupt.

Writes bench/results/<UTC timestamp>.json and .md and prints the Markdown. The logs of every
ansible-playbook run stay in .lab/<PORT>/bench-<timestamp>/. Nothing here asserts a time: a slow
machine gives slow numbers, not a failure. It exits non-zero only when a step itself failed.
"""

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
# The collection as `make setup` links it, for the play_summary callback's own per-host totals.
sys.path.insert(0, str(ROOT / ".collections"))

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.play_summary import host_totals  # noqa: E402

BIN = pathlib.Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
SCHEMA = "nixl_efa.cluster/bench/v1"
PLAYBOOK_TIMEOUT = 3600
TOP = 10


class StepFailed(RuntimeError):
    """An ansible-playbook run or a make target failed."""


def utc_stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def port_answers(port):
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def machine():
    """What the numbers were measured on, and whether anything else of this project was running."""

    def out(*args):
        result = subprocess.run(args, capture_output=True, text=True, check=False)
        return result.stdout.strip() if result.returncode == 0 else None

    ansible = out(str(BIN / "ansible"), "--version")
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
        "python": platform.python_version(),
        "docker": out("docker", "version", "--format", "{{.Server.Version}}"),
        "ansible_core": ansible.splitlines()[0] if ansible else None,
        "commit": out("git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"),
        "worktree_dirty": bool(out("git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no")),
    }


def others(port):
    """Containers of other labs (their nixl-efa.lab label) and molecule's nodes: they share the CPUs."""
    result = subprocess.run(
        ["docker", "ps", "--format", '{{.Names}}\t{{.Label "nixl-efa.lab"}}'],
        capture_output=True,
        text=True,
        check=False,
    )
    names = []
    for line in result.stdout.splitlines():
        name, lab = (line.split("\t", 1) + [""])[:2]
        if (lab and lab != str(port)) or name.startswith("nixl-efa-node-"):
            names.append(name)
    return sorted(names)


class Lab:
    """One lab on one port, and the ansible-playbook runs against it."""

    def __init__(self, port, image, work, runs):
        self.runs = runs
        self.port = port
        self.image = image
        self.url = f"http://127.0.0.1:{port}"
        self.work = work
        self.reports = work / "reports"
        self.addresses = work / "inventory" / "bench_addresses.yml"
        # The bench's nodes get their own loopback addresses and validation ports, so that a bench
        # never shares an address or a port with a demo on the same machine (nodes use host networking).
        self.octet = port % 250
        self.extra_vars = {
            "validation_report_dir": str(self.reports),
            "validation_pingpong_port": 20000 + 4 * (port % 1000),
            "validation_nixl_port": 20002 + 4 * (port % 1000),
        }

    def environ(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_", "LAB_"))}
        env.update(
            PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_FORCE_COLOR="0",
            AWS_ENDPOINT_URL=self.url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_REGION="us-east-1",
            AWS_DEFAULT_REGION="us-east-1",
        )
        env.update(extra)
        return env

    def write_inventory(self):
        self.addresses.parent.mkdir(parents=True, exist_ok=True)
        self.addresses.write_text(
            "---\n# bench/run.py: the nodes' loopback addresses for this bench's lab only (after inventories/lab).\n"
            "plugin: ansible.builtin.constructed\nstrict: true\ncompose:\n"
            f"  node_private_ip: \"'127.{self.octet}.1.' ~ ((node_index | int) + 1)\"\n"
        )

    def make(self, target, log, **variables):
        args = ["make", "--no-print-directory", "-C", str(ROOT), target, f"LAB_PORT={self.port}"]
        args += [f"{k}={v}" for k, v in variables.items()]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAB_"))}
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"$ {' '.join(args)}\n")
            handle.flush()
            result = subprocess.run(args, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False, timeout=1800)
        if result.returncode != 0:
            raise StepFailed(f"make {target} failed (rc {result.returncode}); see {log}")

    def up(self, log):
        self.make("lab-up", log, LAB_NODE_IMAGE=self.image)

    def down(self, log):
        """make demo-down (teardown.yml, then the lab); when that fails, make lab-down still stops it all."""
        try:
            self.make("demo-down", log)
        except (StepFailed, subprocess.TimeoutExpired):
            self.make("lab-down", log)
            raise

    def calls(self, reset=False):
        request = urllib.request.Request(self.url + "/lab/calls", method="POST" if reset else "GET")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def inventory(self):
        """{host: "node<i> (roles)"} from the lab inventory, as the playbooks see it."""
        result = subprocess.run(
            [str(BIN / "ansible-inventory"), *self.inventory_args(), "--list"],
            env=self.environ(),
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        if result.returncode != 0:
            return {}
        data = json.loads(result.stdout)
        hostvars = data.get("_meta", {}).get("hostvars", {})
        names = {}
        for host, variables in hostvars.items():
            roles = [g for g in ("prefill", "decode", "mlflow") if host in data.get(g, {}).get("hosts", [])]
            names[host] = f"node{variables.get('node_index', '?')} ({'+'.join(roles) or '-'})"
        return names

    def ssm_anatomy(self, host):
        """What one module task costs over aws_ssm: one stat with become on one node, read from its -vvvv log."""
        log = self.work / "ssm_anatomy.log"
        args = [str(BIN / "ansible"), *self.inventory_args(), host, "-b", "-m", "ansible.builtin.stat", "-a", "path=/"]
        with open(log, "w", encoding="utf-8") as handle:
            subprocess.run(
                [*args, "-vvvv"], env=self.environ(), cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, check=False
            )
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()
        commands = [line.split("> EXEC: ", 1)[1] for line in text if "> EXEC: " in line]
        heads = []
        for command in commands:
            words = command.split()
            heads.append(
                "mkdir" if "mkdir" in command[:60] else " ".join(words[:2]) if words[0] == "echo" else words[0]
            )
        return {
            "host": host,
            "module": "ansible.builtin.stat (become)",
            # The connection logs "ESTABLISH SSM CONNECTION" twice per session; the plugin starts once.
            "sessions": sum("> SSM COMMAND: " in line for line in text),
            "commands": len(commands),
            "command_heads": heads,
            "file_transfers": sum(("> PUT " in line or "> FETCH " in line) for line in text),
            "log": str(log.relative_to(ROOT)),
        }

    def inventory_args(self):
        return ["-i", "inventories/lab", "-i", str(self.addresses)]

    def playbook(self, step, playbook, *, latency=0.0, count_calls=True, options=()):
        """One timed ansible-playbook run; its play summary, task rows and the API calls it caused.

        options: more ansible-playbook options, before the playbook (bench/scale.py: --skip-tags vllm)."""
        log = self.work / f"{step}.log"
        summary_file = self.work / f"{step}.summary.json"
        args = [str(BIN / "ansible-playbook"), *self.inventory_args(), *options, playbook]
        args += ["-e", json.dumps(self.extra_vars)]
        env = self.environ(
            NIXL_EFA_PLAY_SUMMARY_FILE=str(summary_file),
            LAB_SSM_COMMAND_LATENCY=str(latency),
        )
        if count_calls:
            self.calls(reset=True)
        print(f"[bench] {step}: ansible-playbook {' '.join(args[1:-2])} (log {log.relative_to(ROOT)})", flush=True)
        started = time.monotonic()
        with open(log, "w", encoding="utf-8") as handle:
            result = subprocess.run(
                args, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, check=False, timeout=PLAYBOOK_TIMEOUT
            )
        seconds = round(time.monotonic() - started, 2)
        run = {
            "step": step,
            "playbook": playbook,
            "ssm_command_latency": latency,
            "rc": result.returncode,
            "seconds": seconds,
            "log": str(log.relative_to(ROOT)),
        }
        if options:
            run["options"] = list(options)
        if count_calls:
            run["calls"] = summarize_calls(self.calls())
        summary = read_json(summary_file) or {"plays": []}
        run["plays"] = [
            {"name": p["name"], "seconds": p["seconds"], "changed": p["changed"], "failed": p["failed"]}
            for p in summary["plays"]
        ]
        run["changed"] = sum(p["changed"] for p in summary["plays"])
        run["failed"] = sum(p["failed"] for p in summary["plays"])
        rows = summary.get("tasks") or []
        run["hosts"] = host_totals(summary)
        run["tasks"] = task_table(rows)
        self.runs[step] = run
        print(
            f"[bench] {step}: rc {result.returncode}, {seconds} s, changed {run['changed']}"
            + (f", {run['calls']['total']} API calls" if count_calls else ""),
            flush=True,
        )
        if result.returncode != 0:
            raise StepFailed(f"{step}: ansible-playbook {playbook} failed (rc {result.returncode}); see {log}")
        return run


def read_json(path):
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def summarize_calls(snapshot):
    by_action = snapshot.get("by_action") or {}
    top = sorted(by_action.items(), key=lambda kv: (-kv[1], kv[0]))
    return {"total": snapshot.get("total", 0), "top": top[:TOP], "by_action": by_action}


def task_table(rows):
    """Task rows grouped by (play, role, task): remote invocations and seconds over all hosts, slowest first kept."""
    grouped = {}
    for row in rows:
        if not row.get("remote"):
            continue
        key = (row["role"], row["task"])
        entry = grouped.setdefault(
            key,
            {
                "role": row["role"],
                "task": row["task"],
                "action": row["action"],
                "invocations": 0,
                "retries": 0,
                "seconds": 0.0,
                "hosts": 0,
                "changed": 0,
            },
        )
        entry["invocations"] += row["invocations"]
        entry["retries"] += row["retries"]
        entry["seconds"] = round(entry["seconds"] + (row["seconds"] if row["invocations"] else 0.0), 3)
        entry["hosts"] += 1 if row["invocations"] else 0
        entry["changed"] += row["status"] == "changed"
    table = [e for e in grouped.values() if e["invocations"]]
    return sorted(table, key=lambda e: (-e["invocations"], -e["seconds"], e["role"], e["task"]))


def by_role(tasks):
    roles = {}
    for entry in tasks:
        name = entry["role"] or "(playbook)"
        invocations, seconds = roles.get(name, (0, 0.0))
        roles[name] = (invocations + entry["invocations"], seconds + entry["seconds"])
    return {
        k: {"invocations": v[0], "seconds": round(v[1], 2)} for k, v in sorted(roles.items(), key=lambda kv: -kv[1][0])
    }


def nixl_figures(reports_dir):
    report = read_json(reports_dir / "latest.json") or {}
    for check in report.get("checks", []):
        if check.get("id") == "nixl.transfer":
            return {"status": check.get("status"), "reason": check.get("reason"), **(check.get("figures") or {})}
    return {"status": "missing", "reason": f"no nixl.transfer check in {reports_dir / 'latest.json'}"}


def nixl_median(runs):
    """The median of each NIXL and memcpy figure over the validate runs (the memory copy varies most)."""
    summary = {"runs": len(runs), "passed": sum(r.get("status") == "passed" for r in runs)}
    for key in ("gbps", "gbps_best", "gbps_first", "memcpy_gbps", "memcpy_gbps_best", "share_of_memcpy"):
        values = [r[key] for r in runs if isinstance(r.get(key), (int, float))]
        summary[key] = round(statistics.median(values), 4) if values else None
    return summary


# --- Markdown ------------------------------------------------------------------------------------

CONFIGURE_RUNS = (
    ("configure_full", "full install, fresh nodes"),
    ("configure_dlami", "EFA preinstalled (DLAMI case), fresh nodes"),
    ("configure_rerun", "idempotent re-run"),
    ("configure_rerun_latency", "idempotent re-run, LAB_SSM_COMMAND_LATENCY={latency}"),
    ("validate", "validate.yml"),
)


def table(header, rows, align=None):
    """A Markdown table; align is one letter per column, l or r (default: first left, the rest right)."""
    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines


def fmt(value, digits=1, suffix=""):
    return "-" if value is None else f"{value:.{digits}f}{suffix}"


def top_calls(calls, n=5):
    return ", ".join(f"{name} {count}" for name, count in calls["top"][:n])


def failed(run):
    return f" (FAILED, rc {run['rc']})" if run.get("rc") else ""


def latency_lines(results):
    """Lines sent per remote task implied by the latency re-run: (s/task with latency - without) / latency."""
    base, slow = results["runs"].get("configure_rerun"), results["runs"].get("configure_rerun_latency")
    if not base or not slow or not results.get("latency"):
        return None
    per_task = [
        (slow["hosts"][h]["seconds_per_remote_task"] - base["hosts"][h]["seconds_per_remote_task"]) / results["latency"]
        for h in base["hosts"]
        if h in slow["hosts"] and base["hosts"][h]["remote_tasks"] and slow["hosts"][h]["remote_tasks"]
    ]
    return round(sum(per_task) / len(per_task), 1) if per_task else None


def rerender(path, to_markdown):
    """--render: the Markdown of a results JSON, printed and written beside it (.md)."""
    text = to_markdown(json.loads(path.read_text(encoding="utf-8")))
    path.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)


def markdown(results):
    lines = [f"# nixl_efa.cluster benchmarks, {results['started']}", ""]
    m = results["machine"]
    lines.append(
        f"Machine: {m['cpus']} CPUs, Docker {m['docker']}, {m['ansible_core']}, Python {m['python']}, "
        f"commit {m['commit']}{' (with uncommitted changes)' if m['worktree_dirty'] else ''}; lab on port "
        f"{results['port']}; load average at the start {m['load_average']}"
        f"{', at the end ' + str(results['load_average_at_end']) if results.get('load_average_at_end') else ''}. "
        "Other labs or molecule nodes running "
        f"at the start: {', '.join(results['other_containers_at_start']) or 'none'}; at the end: "
        f"{', '.join(results.get('other_containers_at_end') or []) or 'none'}."
    )
    runs = results["runs"]
    nodes = results["nodes"]
    if "provision_first" in runs:
        first = runs["provision_first"]
        rows = []
        for key, label in (("provision_first", "first run"), ("provision_rerun", "re-run")):
            run = runs.get(key)
            if run and "calls" in run:
                share = f"{run['seconds'] / first['seconds']:.0%}"
                rows.append(
                    (
                        label + failed(run),
                        fmt(run["seconds"]),
                        share,
                        run["changed"],
                        run["calls"]["total"],
                        top_calls(run["calls"]),
                    )
                )
        lines += ["", "## Provision (provision.yml: AWS API calls from the controller)", ""]
        lines += table(("Run", "Wall s", "Share of first", "changed", "API calls", "Top actions"), rows, "lrrrrl")
    rows = []
    for key, label in CONFIGURE_RUNS:
        run = runs.get(key)
        if not run:
            continue
        title = label.format(latency=results["latency"]) + failed(run)
        for host, totals in sorted(run["hosts"].items(), key=lambda kv: nodes.get(kv[0], kv[0])):
            if totals["remote_tasks"]:
                rows.append(
                    (
                        title,
                        fmt(run["seconds"]),
                        nodes.get(host, host),
                        totals["remote_tasks"],
                        fmt(totals["remote_seconds"]),
                        fmt(totals["seconds_per_remote_task"], 2),
                        totals["changed"],
                        run.get("calls", {}).get("by_action", {}).get("ssm:StartSession", "-"),
                        run.get("calls", {}).get("by_action", {}).get("s3:PUT", "-"),
                        run.get("calls", {}).get("total", "-"),
                    )
                )
    if rows:
        lines += ["", "## The nodes over amazon.aws.aws_ssm (remote task invocations per host)", ""]
        header = ("Run", "Wall s", "Host", "Remote tasks", "Remote s", "s / remote task", "changed")
        lines += table((*header, "SSM sessions", "Files sent (S3 PUT)", "API calls"), rows, "lrlrrrrrrr")
        lines += [
            "",
            "SSM sessions, files sent and API calls are for all hosts together; a remote task is one session, "
            "a copy or template task runs two modules in its session (stat, then copy or file) and sends "
            "its content as one more file when that changed.",
        ]
        anatomy = results.get("ssm_anatomy") or {}
        if anatomy.get("commands"):
            lines += [
                "",
                f"One remote module task over aws_ssm ({anatomy.get('module')}): {anatomy.get('sessions')} session "
                f"(StartSession, the plugin, terminal set-up), {anatomy['commands']} shell commands through it "
                f"({', '.join(anatomy.get('command_heads') or [])}), {anatomy.get('file_transfers')} file "
                "transfer through S3 (the controller's PUT, the node's curl GET).",
            ]
        implied = latency_lines(results)
        if implied is not None:
            lines.append(
                f"With LAB_SSM_COMMAND_LATENCY={results['latency']} (seconds per line sent to a node), each remote "
                f"task took {implied} x {results['latency']} s longer: about {implied} lines are sent per remote task."
            )
    nixl_runs = results.get("nixl_runs") or ([results["nixl"]] if results.get("nixl") else [])
    if nixl_runs:
        lines += ["", "## NIXL transfer vs a plain memory copy (validate.yml: same buffer size, same host)", ""]
        figures = ("gbps", "gbps_best", "gbps_first", "memcpy_gbps", "memcpy_gbps_best")
        rows = [(f"validate run {i}", n.get("status"), n) for i, n in enumerate(nixl_runs, 1)]
        if len(nixl_runs) > 1:
            summary = results["nixl"]
            rows.append(("median", f"{summary['passed']} of {len(nixl_runs)} passed", summary))
        header = ("Run", "Check", "NIXL GB/s (mean)", "NIXL best", "NIXL first", "memcpy GB/s (mean)", "memcpy best")
        lines += table(
            (*header, "NIXL / memcpy"),
            [
                (
                    label,
                    status,
                    *("-" if n.get(k) is None else n[k] for k in figures),
                    "-" if n.get("share_of_memcpy") is None else fmt(100 * n["share_of_memcpy"], 1, " %"),
                )
                for label, status, n in rows
            ],
            "llrrrrrr",
        )
        lines += ["", f"{nixl_runs[0].get('reason')}"]
    present = [(key, label) for key, label in CONFIGURE_RUNS if runs.get(key, {}).get("tasks")]
    if present:
        roles = {}
        for key, _label in present:
            for role, value in by_role(runs[key]["tasks"]).items():
                roles.setdefault(role, {})[key] = value
        lines += ["", "## Remote task invocations by role, all hosts (seconds in brackets)", ""]
        lines += table(
            ("Role", *(label.format(latency=results["latency"]) for _key, label in present)),
            [
                (role, *(f"{v[k]['invocations']} ({v[k]['seconds']:.1f})" if k in v else "-" for k, _l in present))
                for role, v in sorted(roles.items())
            ],
        )
    header, align = ("Role", "Task", "Action", "Invocations", "Hosts", "Retries", "Seconds", "changed"), "lllrrrrr"

    def task_rows(tasks):
        return [
            (
                t["role"] or "-",
                t["task"],
                t["action"],
                t["invocations"],
                t["hosts"],
                t["retries"],
                fmt(t["seconds"]),
                t["changed"],
            )
            for t in tasks
        ]

    repeated = [
        (label.format(latency=results["latency"]), t)
        for key, label in CONFIGURE_RUNS
        if key != "configure_rerun_latency"
        for t in runs.get(key, {}).get("tasks") or []
        if t["invocations"] > t["hosts"]
    ]
    if repeated:
        lines += ["", "## Remote tasks that cost more than one invocation per host (loop items, `until` retries)", ""]
        lines += table(
            ("Run", *header),
            [(label, *row) for label, row in zip([r[0] for r in repeated], task_rows([r[1] for r in repeated]))],
            "l" + align,
        )
    rerun = runs.get("configure_rerun", {}).get("tasks")
    if rerun:
        lines += ["", "## Every remote task of the idempotent configure re-run (the floor of a converged cluster)", ""]
        lines += table(header, task_rows(sorted(rerun, key=lambda t: (t["role"], -t["seconds"]))), align)
    full = runs.get("configure_full", {}).get("tasks")
    if full:
        lines += ["", f"## The {TOP} slowest remote tasks of the full install", ""]
        lines += table(header, task_rows(sorted(full, key=lambda t: -t["seconds"])[:TOP]), align)
    if results.get("error"):
        lines += ["", f"**Stopped early:** {results['error']}"]
    return "\n".join(lines) + "\n"


# --- The run -------------------------------------------------------------------------------------


def node_image():
    result = subprocess.run([str(ROOT / "lab" / "node_image.sh")], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StepFailed(f"lab/node_image.sh failed: {result.stderr.strip()[-500:]}")
    return result.stdout.strip().splitlines()[-1]


def bench(lab, args, results):
    log = lab.work / "lab.log"
    lab.write_inventory()
    lab.up(log)
    lab.playbook("provision_first", "playbooks/provision.yml")
    lab.playbook("provision_rerun", "playbooks/provision.yml")
    results["nodes"].update(lab.inventory())
    if results["nodes"]:
        results["ssm_anatomy"] = lab.ssm_anatomy(min(results["nodes"], key=results["nodes"].get))
    lab.playbook("configure_full", "playbooks/configure.yml")
    lab.playbook("configure_rerun", "playbooks/configure.yml")
    if args.latency > 0:
        lab.playbook("configure_rerun_latency", "playbooks/configure.yml", latency=args.latency)
    results["nixl_runs"] = []
    for i in range(max(args.validate_runs, 1)):
        lab.playbook("validate" if i == 0 else f"validate_{i + 1}", "playbooks/validate.yml")
        results["nixl_runs"].append(nixl_figures(lab.reports))
        results["nixl"] = nixl_median(results["nixl_runs"])
    if args.skip_dlami:
        return
    # The DLAMI case needs nodes that have never been configured: a new lab, new nodes.
    lab.down(log)
    lab.up(log)
    lab.playbook("dlami_provision", "playbooks/provision.yml")
    results["nodes"].update(lab.inventory())
    lab.playbook("dlami_setup", "bench/dlami_efa.yml")
    lab.playbook("configure_dlami", "playbooks/configure.yml")


def interrupted(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--port", type=int, default=5071, help="the bench's own lab port (default 5071)")
    parser.add_argument("--image", default="", help="node image (default: lab/node_image.sh builds or names it)")
    parser.add_argument(
        "--latency", type=float, default=0.3, help="LAB_SSM_COMMAND_LATENCY of the extra re-run (0: no such run)"
    )
    parser.add_argument(
        "--validate-runs", type=int, default=3, help="validate.yml runs for the NIXL and memcpy figures (default 3)"
    )
    parser.add_argument("--skip-dlami", action="store_true", help="leave out the DLAMI case (a second lab)")
    parser.add_argument("--results-dir", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--render", type=pathlib.Path, help="only print (and rewrite) the Markdown of a results JSON")
    args = parser.parse_args(argv)
    if args.render:
        rerender(args.render, markdown)
        return 0

    if port_answers(args.port):
        sys.exit(
            f"Something already answers on 127.0.0.1:{args.port}: choose another --port (or BENCH_PORT), or "
            f"`make demo-down LAB_PORT={args.port}` if it is a lab you left running."
        )
    stamp = utc_stamp()
    work = ROOT / ".lab" / str(args.port) / f"bench-{stamp}"
    work.mkdir(parents=True)
    # A termination signal unwinds like Ctrl-C, so the lab is always taken down.
    signal.signal(signal.SIGTERM, interrupted)
    results = {
        "schema": SCHEMA,
        "started": stamp,
        "port": args.port,
        "latency": args.latency,
        "machine": machine(),
        "other_containers_at_start": others(args.port),
        "nodes": {},
        "runs": {},
        "work_dir": str(work.relative_to(ROOT)),
    }
    if results["other_containers_at_start"]:
        print(
            "[bench] warning: other labs or molecule nodes are running "
            f"({', '.join(results['other_containers_at_start'])}): they share the CPUs, the timings will be disturbed",
            flush=True,
        )
    lab = None
    status = 0
    try:
        image = args.image or node_image()
        results["node_image"] = image
        lab = Lab(args.port, image, work, results["runs"])
        bench(lab, args, results)
    except (StepFailed, subprocess.TimeoutExpired, OSError) as e:
        results["error"] = str(e)
        status = 1
    except KeyboardInterrupt:
        results["error"] = "interrupted"
        status = 130
    finally:
        if lab is not None:
            try:
                lab.down(work / "lab.log")
            except (StepFailed, subprocess.TimeoutExpired) as e:
                results["teardown_error"] = str(e)
                status = status or 1
    results["finished"] = utc_stamp()
    results["other_containers_at_end"] = others(args.port)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = args.results_dir / f"{stamp}.json"
    out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    text = markdown(results)
    out.with_suffix(".md").write_text(text, encoding="utf-8")
    print(text)
    print(f"[bench] results: {out} and {out.with_suffix('.md')}; logs: {work}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
