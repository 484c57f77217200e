"""Scale: configure + validate on more nodes against 2, on labs of their own (issue 19; docs/PERFORMANCE.md).

    .venv/bin/python bench/scale.py [--nodes 2,8] [--latency 0.3] [--port 5073] [--image IMAGE]
    make scale                      (the same, with Docker started and the node image built; SCALE_PORT, SCALE_ARGS)

For each node count of --nodes, in the order given, on a fresh lab of its own (the bench's Lab of
bench/run.py: moto and the stand-ins on 127.0.0.1:PORT, its nodes on 127.<PORT mod 250>.1.x):

1. make lab-up with the node image, then provision.yml -e cluster_instance_count=N (untimed: it only
   makes the nodes);
2. configure.yml on the fresh nodes, timed;
3. validate.yml, timed;
4. make lab-down, always, also after a failure or an interrupt. A failed step ends its count only:
   the next count has a fresh lab (an interrupt, or a lab that could not be taken down, ends it all).

Then, with --latency S (default 0.3; 0 leaves it out), every count again on a fresh lab with
LAB_SSM_COMMAND_LATENCY=S (each line sent to a node that much later: a controller far from its nodes).

vLLM is left out for every count alike: configure and validate run with --skip-tags vllm and
validation_checks without vllm, since vLLM on the CPU (several GB per server) on 7 decode nodes does
not fit a small machine. Per timed run: wall seconds, the play_summary JSON (remote tasks per host),
the API calls the lab answered (SSM sessions among them), and the CPU seconds of the controller
(the ansible-playbook process tree: getrusage(RUSAGE_CHILDREN) before and after), of the lab's
local AWS (moto) and of the node containers (their cgroups). Per count: the fabric pairs that
validation ran (fi_pingpong and NIXL around the ring), from its report.

Writes bench/results/scale-<UTC timestamp>.json and .md, prints the Markdown, and overwrites
bench/results/scale-latest.json with the figures scripts read (nodes, wall_ratio_8_to_2,
pairs_tested, remote_tasks_per_host, ...; complete false and errors when a step failed). Logs stay
in .lab/<PORT>/scale-<timestamp>/. Nothing here asserts a time: the goal (8 nodes within 1.5 times
the 2-node wall time) is reported, never enforced. It exits non-zero only when a step itself failed.
"""

import argparse
import json
import os
import pathlib
import resource
import signal
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import run as bench  # noqa: E402  (bench/run.py: the Lab, the machine, the helpers)

ROOT = bench.ROOT
RESULTS = bench.RESULTS
SCHEMA = "nixl_efa.cluster/scale/v1"
LATEST_SCHEMA = "nixl_efa.cluster/scale-latest/v1"
LATEST = "scale-latest.json"
DEFAULT_PORT = 5073
DEFAULT_NODES = "2,8"
DEFAULT_LATENCY = 0.3
# The timed playbooks, in the order they run.
PLAYBOOKS = (("configure", "playbooks/configure.yml"), ("validate", "playbooks/validate.yml"))
# What every count leaves out, alike: vLLM (roles/validation/defaults/main.yml's checks without vllm).
SKIP_TAGS = ("vllm",)
VALIDATION_CHECKS = ("node", "pingpong", "nixl", "nccl", "mlflow")
LEFT_OUT = (
    "vLLM: configure.yml and validate.yml run with --skip-tags vllm and validation_checks without vllm, for every "
    "node count alike: vLLM on the CPU takes several GB per server, too much for 7 decode nodes on a small machine"
)
# The checks around the ring of nodes, as the validation report names them.
FABRIC_CHECKS = ("fabric.pingpong", "nixl.transfer")
GOAL_WALL_RATIO = 1.5
MIN_NODES, MAX_NODES = 2, 64
# The lab's capacity block prices about 815 USD per p5 node for 24 h at most (lab/lab_capacity.py):
# the lab's 5,000 USD ceiling covers up to 6 nodes; the ceiling grows with the count.
FEE_PER_NODE = 1000
LAB_FEE_CEILING = 5000


def parse_counts(text):
    """--nodes: counts of nodes, 2 to 64, each once, in the order given."""
    try:
        counts = [int(word) for word in str(text).replace(" ", "").split(",") if word]
    except ValueError:
        raise ValueError(f"--nodes takes counts separated by commas, such as 2,8 (got {text!r})")
    if not counts:
        raise ValueError("--nodes needs at least one count")
    if len(set(counts)) != len(counts):
        raise ValueError(f"--nodes names a count twice: {text!r}")
    wrong = [n for n in counts if not MIN_NODES <= n <= MAX_NODES]
    if wrong:
        raise ValueError(f"--nodes: each count from {MIN_NODES} to {MAX_NODES} (got {wrong})")
    return counts


def run_key(nodes, latency):
    return f"n{nodes}" + (f"-latency{latency:g}" if latency else "")


def fee_ceiling(nodes):
    return max(LAB_FEE_CEILING, FEE_PER_NODE * nodes)


def count_vars(nodes):
    """The extra variables of every playbook of one count (beside the bench's report directory and ports)."""
    return {
        "cluster_instance_count": nodes,
        "cluster_capacity_block_max_upfront_fee": fee_ceiling(nodes),
        "validation_checks": list(VALIDATION_CHECKS),
    }


def playbook_options():
    return ("--skip-tags", ",".join(SKIP_TAGS))


# --- CPU -----------------------------------------------------------------------------------------


def controller_cpu():
    """(user, system) CPU seconds of this process's finished children, the ansible-playbook trees among them."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime, usage.ru_stime


def process_cpu(pid):
    """CPU seconds of a running process and its waited-for children (/proc/PID/stat), or None."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def lab_aws_cpu(port):
    """The lab server's (moto and the stand-ins) CPU seconds so far, or None."""
    try:
        pid = int((ROOT / ".lab" / str(port) / "moto.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return process_cpu(pid)


CGROUP_FILES = (
    ("/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage", 1e-9),
    ("/sys/fs/cgroup/cpu,cpuacct/docker/{id}/cpuacct.usage", 1e-9),
    ("/sys/fs/cgroup/cpuacct/system.slice/docker-{id}.scope/cpuacct.usage", 1e-9),
    ("/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat", 1e-6),
    ("/sys/fs/cgroup/docker/{id}/cpu.stat", 1e-6),
)


def cgroup_cpu(container_id):
    """A container's CPU seconds from its cgroup (v1 cpuacct.usage in ns, v2 cpu.stat usage_usec), or None."""
    for pattern, unit in CGROUP_FILES:
        try:
            text = pathlib.Path(pattern.format(id=container_id)).read_text()
        except OSError:
            continue
        if text.startswith("usage_usec") or "\nusage_usec" in text:
            text = next(line.split()[1] for line in text.splitlines() if line.startswith("usage_usec"))
        return int(text.strip()) * unit
    return None


def nodes_cpu(port):
    """The CPU seconds of the lab's node containers together, or None when one cannot be read."""
    result = subprocess.run(
        ["docker", "ps", "-q", "--no-trunc", "--filter", f"label=nixl-efa.lab={port}"],
        capture_output=True,
        text=True,
        check=False,
    )
    ids = result.stdout.split() if result.returncode == 0 else []
    values = [cgroup_cpu(i) for i in ids]
    if not ids or None in values:
        return None
    return sum(values)


def cpu_sample(port):
    user, system = controller_cpu()
    return {"user": user, "system": system, "lab_aws": lab_aws_cpu(port), "nodes": nodes_cpu(port)}


def cpu_figures(before, after, seconds, cpus):
    """CPU seconds spent during one run, and the controller's share of the machine (wall time x cores)."""

    def delta(key, digits=2):
        if before.get(key) is None or after.get(key) is None:
            return None
        return round(after[key] - before[key], digits)

    user, system = delta("user", 3), delta("system", 3)
    controller = round(user + system, 2)
    busy = seconds * cpus if seconds and cpus else 0
    return {
        "controller_user_seconds": round(user, 2),
        "controller_system_seconds": round(system, 2),
        "controller_seconds": controller,
        "controller_cores": round(controller / seconds, 3) if seconds else None,
        "controller_share": round(controller / busy, 4) if busy else None,
        "lab_aws_seconds": delta("lab_aws"),
        "nodes_seconds": delta("nodes"),
        "cpus": cpus,
    }


def timed(lab, step, playbook, *, latency, cpus):
    """lab.playbook with the CPU it took, measured around it (also when it failed)."""
    before = cpu_sample(lab.port)
    try:
        return lab.playbook(step, playbook, latency=latency, options=playbook_options())
    finally:
        after = cpu_sample(lab.port)
        run = lab.runs.get(step)
        if run is not None:
            run["cpu"] = cpu_figures(before, after, run["seconds"], cpus)


# --- What the report and the runs say ------------------------------------------------------------


def pairs_tested(report):
    """Per check around the ring: the pairs it ran (its report's details.pairs), how many passed, its status.

    A check that did not run (skipped, or failed before any pair) ran 0 pairs."""
    checks = {c.get("id"): c for c in (report or {}).get("checks", [])}
    out = {}
    for check_id in FABRIC_CHECKS:
        check = checks.get(check_id)
        if check is None:
            out[check_id] = {"tested": 0, "passed": 0, "status": "missing"}
            continue
        pairs = (check.get("details") or {}).get("pairs") or []
        out[check_id] = {
            "tested": len(pairs),
            "passed": sum(p.get("status") == "passed" for p in pairs),
            "status": check.get("status"),
        }
    return out


def remote_tasks_per_host(run):
    """The most remote task invocations of one host in a run (play_summary's per-host count), or None."""
    counts = [totals.get("remote_tasks", 0) for totals in ((run or {}).get("hosts") or {}).values()]
    return max(counts) if counts else None


def count_summary(entry):
    """The figures of one node count's runs: walls, CPU, remote tasks, sessions, API calls, pairs."""
    steps = entry.get("steps") or {}
    summary = {"nodes": entry["nodes"], "latency": entry["latency"]}
    complete = not entry.get("error")
    for step, _playbook in PLAYBOOKS:
        run = steps.get(step)
        ok = bool(run) and run.get("rc") == 0
        complete = complete and ok
        summary.setdefault("finished", {})[step] = ok
        summary[f"{step}_seconds"] = run["seconds"] if run else None
        cpu = (run or {}).get("cpu") or {}
        summary.setdefault("controller_cpu_seconds", {})[step] = cpu.get("controller_seconds")
        summary.setdefault("lab_aws_cpu_seconds", {})[step] = cpu.get("lab_aws_seconds")
        summary.setdefault("nodes_cpu_seconds", {})[step] = cpu.get("nodes_seconds")
        summary.setdefault("remote_tasks_per_host", {})[step] = remote_tasks_per_host(run)
        calls = (run or {}).get("calls") or {}
        summary.setdefault("ssm_sessions", {})[step] = (calls.get("by_action") or {}).get("ssm:StartSession")
        summary.setdefault("api_calls", {})[step] = calls.get("total")
    summary["complete"] = complete
    walls = [summary[f"{step}_seconds"] for step, _playbook in PLAYBOOKS]
    summary["wall_seconds"] = round(sum(walls), 2) if complete else None
    cpu = [summary["controller_cpu_seconds"][step] for step, _playbook in PLAYBOOKS]
    summary["controller_cpu_seconds"]["total"] = round(sum(cpu), 2) if None not in cpu else None
    cpus = next((((steps.get(s) or {}).get("cpu") or {}).get("cpus") for s, _p in PLAYBOOKS), None)
    total, wall = summary["controller_cpu_seconds"]["total"], summary["wall_seconds"]
    summary["controller_cores"] = round(total / wall, 3) if total is not None and wall else None
    summary["controller_share"] = round(total / (wall * cpus), 4) if total is not None and wall and cpus else None
    pairs = entry.get("pairs") or {}
    summary["pairs_tested"] = {check: (pairs.get(check) or {}).get("tested", 0) for check in FABRIC_CHECKS}
    summary["pairs_passed"] = {check: (pairs.get(check) or {}).get("passed", 0) for check in FABRIC_CHECKS}
    return summary


def wall_ratio(summaries):
    """configure + validate wall seconds of the largest count over the smallest's, and those two counts.

    None for the ratio unless both counts finished and there are two counts."""
    if len(summaries) < 2:
        return None, None
    largest = max(summaries, key=lambda s: s["nodes"])
    smallest = min(summaries, key=lambda s: s["nodes"])
    counts = {"largest": largest["nodes"], "smallest": smallest["nodes"]}
    if not largest["wall_seconds"] or not smallest["wall_seconds"]:
        return None, counts
    return round(largest["wall_seconds"] / smallest["wall_seconds"], 3), counts


def playbook_ratios(summaries):
    """Per playbook, its wall seconds on the largest count over the smallest's (None unless both finished it)."""
    if len(summaries) < 2:
        return {step: None for step, _playbook in PLAYBOOKS}
    largest = max(summaries, key=lambda s: s["nodes"])
    smallest = min(summaries, key=lambda s: s["nodes"])
    ratios = {}
    for step, _playbook in PLAYBOOKS:
        done = all(s["finished"][step] and s[f"{step}_seconds"] for s in (largest, smallest))
        ratios[step] = round(largest[f"{step}_seconds"] / smallest[f"{step}_seconds"], 3) if done else None
    return ratios


def series(results):
    """The runs grouped by latency (0 first), each with its counts' figures and its wall ratio."""
    out = []
    for latency in sorted({entry["latency"] for entry in results["runs"]}):
        summaries = [count_summary(e) for e in results["runs"] if e["latency"] == latency]
        ratio, counts = wall_ratio(summaries)
        out.append(
            {
                "latency": latency,
                "counts": {str(s["nodes"]): s for s in summaries},
                "wall_ratio": ratio,
                "wall_ratio_counts": counts,
                "wall_ratio_by_playbook": playbook_ratios(summaries),
                "goal_met": None if ratio is None else ratio <= GOAL_WALL_RATIO,
            }
        )
    return out


def errors(results):
    """What went wrong, per run key (and "run" for what stopped the whole run)."""
    found = {e["key"]: " ".join(filter(None, (e.get("error"), e.get("teardown_error")))) for e in results["runs"]}
    found = {k: v for k, v in found.items() if v}
    if results.get("error"):
        found["run"] = results["error"]
    return found


def latest(results, results_file):
    """What scripts read (bench/results/scale-latest.json): the figures without latency, then with it.

    Written after every run, finished or not: complete says whether every count finished both playbooks
    (a ratio is null where one of its two counts did not), errors what went wrong."""
    groups = series(results)
    empty = {"counts": {}, "wall_ratio": None, "wall_ratio_counts": None, "wall_ratio_by_playbook": None}
    base = next((g for g in groups if not g["latency"]), empty)
    slow = next((g for g in groups if g["latency"]), None)
    return {
        "schema": LATEST_SCHEMA,
        "results": results_file,
        "started": results["started"],
        "commit": results["machine"].get("commit"),
        "cpus": results["machine"].get("cpus"),
        "complete": complete(results),
        "errors": errors(results),
        "nodes": list(results["nodes"]),
        "left_out": results["left_out"],
        "wall_ratio_8_to_2": base["wall_ratio"],
        "wall_ratio_counts": base["wall_ratio_counts"],
        "wall_ratio_by_playbook": base["wall_ratio_by_playbook"],
        "goal_wall_ratio": GOAL_WALL_RATIO,
        "wall_seconds": {n: s["wall_seconds"] for n, s in base["counts"].items()},
        "pairs_tested": {n: s["pairs_tested"] for n, s in base["counts"].items()},
        "remote_tasks_per_host": {n: s["remote_tasks_per_host"] for n, s in base["counts"].items()},
        "counts": base["counts"],
        "with_latency": None
        if slow is None
        else {
            "latency": slow["latency"],
            "wall_ratio_8_to_2": slow["wall_ratio"],
            "wall_ratio_counts": slow["wall_ratio_counts"],
            "wall_ratio_by_playbook": slow["wall_ratio_by_playbook"],
            "wall_seconds": {n: s["wall_seconds"] for n, s in slow["counts"].items()},
            "counts": slow["counts"],
        },
    }


# --- Markdown ------------------------------------------------------------------------------------


def per_step(values):
    """'configure / validate' of a {step: value} dict."""
    return " / ".join("-" if values.get(s) is None else str(values[s]) for s, _p in PLAYBOOKS)


def markdown(results):
    m = results["machine"]
    lines = [f"# nixl_efa.cluster scale, {results['started']}", ""]
    lines.append(
        f"Machine: {m['cpus']} CPUs, {m.get('memory_gib', '?')} GiB, Docker {m['docker']}, {m['ansible_core']}, "
        f"Python {m['python']}, commit {m['commit']}{' (with uncommitted changes)' if m['worktree_dirty'] else ''}; "
        f"labs on port {results['port']}; load average at the start {m['load_average']}"
        f"{', at the end ' + str(results['load_average_at_end']) if results.get('load_average_at_end') else ''}. "
        "Other labs or molecule nodes running at the start: "
        f"{', '.join(results['other_containers_at_start']) or 'none'}; "
        f"at the end: {', '.join(results.get('other_containers_at_end') or []) or 'none'}."
    )
    lines += [
        "",
        f"Node counts {', '.join(map(str, results['nodes']))}, each on a fresh lab: provision.yml (untimed), "
        "then configure.yml on the fresh nodes and validate.yml, timed. Left out: " + results["left_out"] + ".",
    ]
    for group in series(results):
        title = f"LAB_SSM_COMMAND_LATENCY={group['latency']:g}" if group["latency"] else "no added latency"
        counts = list(group["counts"].values())
        if not counts:
            continue
        smallest = min(counts, key=lambda s: s["nodes"])
        rows = []
        for s in counts:
            share = (
                f"{s['wall_seconds'] / smallest['wall_seconds']:.2f}x"
                if s["wall_seconds"] and smallest["wall_seconds"]
                else "-"
            )
            rows.append(
                (
                    s["nodes"],
                    bench.fmt(s["configure_seconds"]),
                    bench.fmt(s["validate_seconds"]),
                    bench.fmt(s["wall_seconds"]),
                    share,
                    per_step(s["remote_tasks_per_host"]),
                    per_step(s["ssm_sessions"]),
                    per_step(s["api_calls"]),
                    f"{s['pairs_tested']['fabric.pingpong']} ({s['pairs_passed']['fabric.pingpong']} passed)",
                    f"{s['pairs_tested']['nixl.transfer']} ({s['pairs_passed']['nixl.transfer']} passed)",
                )
            )
        lines += ["", f"## configure + validate by node count ({title})", ""]
        header = ("Nodes", "configure s", "validate s", "configure + validate s", f"vs {smallest['nodes']} nodes")
        lines += bench.table(
            (*header, "Remote tasks per host, max", "SSM sessions", "API calls", "fi_pingpong pairs", "NIXL pairs"),
            rows,
            "rrrrrrrrrr",
        )
        lines += ["", "Remote tasks, SSM sessions and API calls: configure / validate; sessions and calls: all hosts."]
        if group["wall_ratio"] is not None:
            c = group["wall_ratio_counts"]
            verdict = "within" if group["goal_met"] else "above"
            lines.append(
                f"{c['largest']} nodes took {group['wall_ratio']:.2f} times the wall time of {c['smallest']} "
                f"({verdict} the goal of {GOAL_WALL_RATIO:g} for 8 nodes against 2; a benchmark figure, not a test)."
            )
        elif group["wall_ratio_counts"]:
            c = group["wall_ratio_counts"]
            failed = [
                f"{step} on {s['nodes']} nodes"
                for s in counts
                if s["nodes"] in c.values()
                for step, _playbook in PLAYBOOKS
                if not s["finished"][step]
            ]
            done = ", ".join(f"{step} {r:.2f} times" for step, r in group["wall_ratio_by_playbook"].items() if r)
            lines.append(
                f"No configure + validate ratio: {', '.join(failed)} failed or did not run."
                + (
                    f" What passed on both took, on {c['largest']} nodes against {c['smallest']}: {done}."
                    if done
                    else ""
                )
            )
        rows = []
        for s in counts:
            for step, _playbook in PLAYBOOKS:
                cpu = s["controller_cpu_seconds"].get(step)
                wall = s[f"{step}_seconds"]
                rows.append(
                    (
                        s["nodes"],
                        step,
                        bench.fmt(wall),
                        bench.fmt(cpu),
                        "-" if cpu is None or not wall else f"{cpu / wall:.2f}",
                        "-" if cpu is None or not wall else f"{100 * cpu / (wall * m['cpus']):.0f} %",
                        bench.fmt(s["lab_aws_cpu_seconds"].get(step)),
                        bench.fmt(s["nodes_cpu_seconds"].get(step)),
                    )
                )
        lines += ["", f"### CPU seconds per run ({title}; {m['cpus']} CPUs shared by everything)", ""]
        lines += bench.table(
            (
                "Nodes",
                "Run",
                "Wall s",
                "Controller CPU s",
                "Controller cores busy",
                f"Controller share of {m['cpus']} CPUs",
                "Lab AWS (moto) CPU s",
                "Node containers CPU s",
            ),
            rows,
            "rlrrrrrr",
        )
        lines += [
            "",
            "Controller: user + system CPU of the ansible-playbook process tree (its forks, the session-manager-plugin "
            "stand-in and its docker exec); share: CPU seconds over wall seconds x CPUs.",
        ]
    failures = [e for e in results["runs"] if e.get("error") or e.get("teardown_error")]
    for entry in failures:
        lines += ["", f"**{entry['key']}:** {entry.get('error') or ''} {entry.get('teardown_error') or ''}".rstrip()]
    if results.get("error"):
        lines += ["", f"**Stopped early:** {results['error']}"]
    return "\n".join(lines) + "\n"


# --- The run -------------------------------------------------------------------------------------


def one_count(lab, entry, cpus):
    """One node count on a fresh lab: up, provision (untimed), configure and validate (timed), down."""
    log = lab.work / "lab.log"
    lab.extra_vars.update(count_vars(entry["nodes"]))
    lab.write_inventory()
    try:
        lab.up(log)
        lab.playbook("provision", "playbooks/provision.yml", count_calls=False)
        entry["hosts"] = lab.inventory()
        for step, playbook in PLAYBOOKS:
            timed(lab, step, playbook, latency=entry["latency"], cpus=cpus)
    finally:
        report = bench.read_json(lab.reports / "latest.json")
        if report is not None and "validate" in entry["steps"]:
            entry["pairs"] = pairs_tested(report)
            entry["report_summary"] = report.get("summary")
        try:
            lab.make("lab-down", log)
        except (bench.StepFailed, subprocess.TimeoutExpired) as e:
            entry["teardown_error"] = str(e)


def memory_gib():
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (OSError, ValueError):
        return None


def write_results(results, results_dir):
    """scale-<stamp>.json and .md, and scale-latest.json overwritten. Returns the paths written."""
    results_dir.mkdir(parents=True, exist_ok=True)
    out = results_dir / f"scale-{results['started']}.json"
    out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(markdown(results), encoding="utf-8")
    try:
        name = str(out.resolve().relative_to(ROOT))
    except ValueError:
        name = str(out)
    path = results_dir / LATEST
    path.write_text(json.dumps(latest(results, name), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return [out, out.with_suffix(".md"), path]


def complete(results):
    expected = len(results["nodes"]) * (2 if results.get("latency") else 1)
    return (
        not results.get("error")
        and len(results["runs"]) == expected
        and all(count_summary(e)["complete"] and not e.get("teardown_error") for e in results["runs"])
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--nodes", default=DEFAULT_NODES, help=f"node counts, in order (default {DEFAULT_NODES})")
    parser.add_argument(
        "--latency",
        type=float,
        default=DEFAULT_LATENCY,
        help=f"repeat every count with LAB_SSM_COMMAND_LATENCY=S (default {DEFAULT_LATENCY}; 0: no repeat)",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"the labs' port (default {DEFAULT_PORT})")
    parser.add_argument("--image", default="", help="node image (default: lab/node_image.sh builds or names it)")
    parser.add_argument("--results-dir", type=pathlib.Path, default=RESULTS)
    parser.add_argument("--render", type=pathlib.Path, help="only print (and rewrite) the Markdown of a results JSON")
    args = parser.parse_args(argv)
    if args.render:
        bench.rerender(args.render, markdown)
        return 0
    try:
        counts = parse_counts(args.nodes)
    except ValueError as e:
        parser.error(str(e))
    if args.latency < 0:
        parser.error("--latency must be 0 or more")
    if bench.port_answers(args.port):
        sys.exit(
            f"Something already answers on 127.0.0.1:{args.port}: choose another --port (or SCALE_PORT), or "
            f"`make lab-down LAB_PORT={args.port}` if it is a lab you left running."
        )
    stamp = bench.utc_stamp()
    work = ROOT / ".lab" / str(args.port) / f"scale-{stamp}"
    work.mkdir(parents=True)
    signal.signal(signal.SIGTERM, bench.interrupted)
    results = {
        "schema": SCHEMA,
        "started": stamp,
        "port": args.port,
        "nodes": counts,
        "latency": args.latency,
        "left_out": LEFT_OUT,
        "skip_tags": list(SKIP_TAGS),
        "validation_checks": list(VALIDATION_CHECKS),
        "machine": dict(bench.machine(), memory_gib=memory_gib()),
        "other_containers_at_start": bench.others(args.port),
        "runs": [],
        "work_dir": str(work.relative_to(ROOT)),
    }
    if results["other_containers_at_start"]:
        print(
            "[scale] warning: other labs or molecule nodes are running "
            f"({', '.join(results['other_containers_at_start'])}): they share the CPUs, the timings will be disturbed",
            flush=True,
        )
    status = 0
    try:
        image = args.image or bench.node_image()
        results["node_image"] = image
        for latency in [0.0] + ([args.latency] if args.latency else []):
            for nodes in counts:
                key = run_key(nodes, latency)
                entry = {"key": key, "nodes": nodes, "latency": latency, "steps": {}, "work_dir": f"{work.name}/{key}"}
                results["runs"].append(entry)
                print(f"[scale] {key}: {nodes} nodes, LAB_SSM_COMMAND_LATENCY={latency:g}", flush=True)
                lab = bench.Lab(args.port, image, work / key, entry["steps"])
                try:
                    one_count(lab, entry, os.cpu_count())
                except (bench.StepFailed, subprocess.TimeoutExpired, OSError) as e:
                    # The next count has a fresh lab: go on, and exit non-zero at the end.
                    entry["error"] = str(e)
                    status = 1
                    print(f"[scale] {key} failed: {e}", flush=True)
                if entry.get("teardown_error"):
                    raise bench.StepFailed(f"{key}: the lab was not taken down: {entry['teardown_error']}")
    except (bench.StepFailed, subprocess.TimeoutExpired, OSError) as e:
        results["error"] = str(e)
        status = 1
    except KeyboardInterrupt:
        results["error"] = "interrupted"
        status = 130
    results["finished"] = bench.utc_stamp()
    results["other_containers_at_end"] = bench.others(args.port)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    written = write_results(results, args.results_dir)
    print(markdown(results))
    print(f"[scale] results: {', '.join(map(str, written))}; logs: {work}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
