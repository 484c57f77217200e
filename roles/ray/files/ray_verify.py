"""Check a running Ray cluster from its head node, in one remote command.

Run by the ray role (tasks_from: verify) with the Ray venv's interpreter:

    <ray_venv>/bin/python - --address HEAD_IP:GCS_PORT --node-ip HEAD_IP \
        --expect NAME=IP [--expect NAME=IP ...] --timeout SECONDS < this file

1. Connects to the cluster (ray.init) as a driver on the head node.
2. Waits, up to --timeout seconds, until a node is ALIVE at every expected address.
3. Runs one task pinned to each expected node (NodeAffinitySchedulingStrategy, soft=False) and
   checks that it ran there.

Prints one JSON object on stdout (Ray's own output goes to stderr):

    {"ok": bool, "address": str, "expected": int, "alive": int,
     "missing": [NAME, ...], "unexpected": [IP, ...],
     "nodes": {NAME: {"ip", "node_id", "alive", "ok", "result": {...} | null, "error": str}},
     "message": str, "error": str, "seconds": float}

Exit status 0 whenever that object is printed (the role decides from "ok"); 2 on bad arguments.
"""

import argparse
import contextlib
import json
import os
import platform
import socket
import sys
import time


def parse_expect(values):
    """{name: ip} from ["name=ip", ...]; a value without "=" names itself."""
    expected = {}
    for value in values:
        name, sep, ip = value.partition("=")
        name, ip = name.strip(), ip.strip()
        if not sep:
            ip = name
        if not name or not ip:
            raise ValueError(f"--expect wants NAME=IP, got {value!r}")
        if name in expected:
            raise ValueError(f"--expect names {name!r} twice")
        expected[name] = ip
    return expected


def alive_by_ip(nodes):
    """{ip: node_id} of the ALIVE nodes in ray.nodes() output (the newest one per address)."""
    alive = {}
    for node in nodes:
        if node.get("Alive") or node.get("alive") or node.get("State") == "ALIVE":
            alive[node.get("NodeManagerAddress", "")] = node.get("NodeID", "")
    return alive


def match_nodes(expected, alive):
    """(found {name: node_id}, missing [name], unexpected [ip]) for expected {name: ip}."""
    found = {name: alive[ip] for name, ip in expected.items() if ip in alive}
    missing = sorted(name for name in expected if name not in found)
    wanted = set(expected.values())
    unexpected = sorted(ip for ip in alive if ip not in wanted)
    return found, missing, unexpected


def message(report):
    """One line saying what passed or what is wrong, naming nodes."""
    if report.get("error"):
        return f"Ray cluster at {report['address']}: {report['error']}"
    if report["missing"]:
        names = ", ".join(f"{name} ({report['nodes'][name]['ip']})" for name in report["missing"])
        return (
            f"Ray cluster at {report['address']}: {report['alive']} node(s) ALIVE, "
            f"{report['expected']} expected; not ALIVE: {names}. On those nodes look at "
            "`systemctl status ray-worker` and `journalctl -u ray-worker`."
        )
    failed = [name for name, node in report["nodes"].items() if not node["ok"]]
    if failed:
        details = "; ".join(f"{name}: {report['nodes'][name]['error']}" for name in failed)
        return f"Ray cluster at {report['address']}: the pinned task failed on {details}"
    return (
        f"Ray cluster at {report['address']}: {report['expected']} node(s) ALIVE, "
        f"a task ran on each in {report['seconds']} s"
    )


def new_report(address, expected):
    return {
        "ok": False,
        "address": address,
        "expected": len(expected),
        "alive": 0,
        "missing": sorted(expected),
        "unexpected": [],
        "nodes": {
            name: {"ip": ip, "node_id": "", "alive": False, "ok": False, "result": None, "error": ""}
            for name, ip in expected.items()
        },
        "message": "",
        "error": "",
        "seconds": 0.0,
    }


def where_am_i():
    """What the pinned task reports about the node it ran on."""
    import ray  # noqa: PLC0415 (Ray is imported where it runs: the tests have no Ray)

    return {
        "node_id": ray.get_runtime_context().get_node_id(),
        "ip": ray.util.get_node_ip_address(),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "python": platform.python_version(),
        "ray": ray.__version__,
    }


def check(ray, report, expected, node_ip, timeout, task_timeout, poll=1.0, clock=time.monotonic, sleep=time.sleep):
    """Fill report from the cluster; ray is the ray module (a fake one in the unit tests)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy  # noqa: PLC0415 (see where_am_i)

    start = clock()
    init = {"address": report["address"], "log_to_driver": False, "logging_level": "WARNING"}
    if node_ip:
        init["_node_ip_address"] = node_ip
    deadline = start + timeout
    while True:
        try:
            ray.init(**init)
            break
        except Exception as exc:  # noqa: BLE001 (Ray raises several types while the head starts)
            if clock() >= deadline:
                report["error"] = f"cannot connect: {type(exc).__name__}: {exc}"
                return report
            sleep(poll)
    try:
        while True:
            alive = alive_by_ip(ray.nodes())
            found, missing, unexpected = match_nodes(expected, alive)
            if not missing or clock() >= deadline:
                break
            sleep(poll)
        report.update(alive=len(alive), missing=missing, unexpected=unexpected)
        for name, node_id in found.items():
            report["nodes"][name].update(node_id=node_id, alive=True)
        if missing:
            return report

        remote = ray.remote(num_cpus=0, max_retries=0)(where_am_i)
        refs = {}
        for name, node_id in found.items():
            pinned = NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)
            refs[name] = remote.options(scheduling_strategy=pinned).remote()
        for name, ref in refs.items():
            node = report["nodes"][name]
            try:
                result = ray.get(ref, timeout=task_timeout)
            except Exception as exc:  # noqa: BLE001 (task errors, timeouts: reported per node)
                node["error"] = f"{type(exc).__name__}: {exc}"
                continue
            node["result"] = result
            if result.get("node_id") != node["node_id"]:
                node["error"] = f"ran on node {result.get('node_id')} ({result.get('ip')}), not on {node['node_id']}"
            else:
                node["ok"] = True
        report["ok"] = all(node["ok"] for node in report["nodes"].values())
        return report
    finally:
        report["seconds"] = round(clock() - start, 2)
        with contextlib.suppress(Exception):
            ray.shutdown()


def main(argv=None, out=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", required=True, help="HEAD_IP:GCS_PORT")
    parser.add_argument("--node-ip", default="", help="this node's Ray address (the head's)")
    parser.add_argument("--expect", action="append", default=[], help="NAME=IP of a node that must be ALIVE")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the nodes")
    parser.add_argument("--task-timeout", type=float, default=60.0, help="seconds per pinned task")
    args = parser.parse_args(argv)
    try:
        expected = parse_expect(args.expect)
    except ValueError as exc:
        parser.error(str(exc))
    if not expected:
        parser.error("at least one --expect NAME=IP")

    out = out or sys.stdout
    report = new_report(args.address, expected)
    # Ray and its workers may print on stdout: keep it for the JSON alone.
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        import ray  # noqa: PLC0415 (see where_am_i; an import failure goes into the report)

        check(ray, report, expected, args.node_ip, args.timeout, args.task_timeout)
    except Exception as exc:  # noqa: BLE001 (an import or driver failure becomes the report's error)
        report["error"] = report["error"] or f"{type(exc).__name__}: {exc}"
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
    report["message"] = message(report)
    out.write(json.dumps(report, sort_keys=True) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
