# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of the validation role: what to run, fi_pingpong parsing, the report and its renderings.

Everything here is pure: the role gathers raw results on the nodes and hands them over, so the
decisions (which check runs, what passed, which hint applies) are unit tested without a cluster.

A check is a dict: id, title, node (null for a check between nodes), nodes, status (passed, failed
or skipped), reason (one line), figures (numbers), details, and for a failure cause and fix.
"""

import json
import re

SCHEMA = "nixl_efa.cluster/validation-report/v1"
CHECK_NAMES = ("node", "pingpong", "nixl", "nccl", "mlflow", "vllm")
NCCL_MARKER = "NIXL_EFA_NCCL_RESULT"
STATUSES = ("passed", "failed", "skipped")

# Likely cause and fix per failure kind, from the old system's troubleshooting notes and what each
# tool says when it fails. {node}, {provider}, {port}, ... are filled from the check's context.
HINTS = {
    "unreachable": (
        "The node did not answer over the connection (SSM agent not running, instance stopped, or the instance "
        "role lacks AmazonSSMManagedInstanceCore).",
        "Check that the instance runs and is online in Systems Manager (aws ssm describe-instance-information), "
        "then run the play again.",
    ),
    "node_info": (
        "Reading the node failed (nixl_efa.cluster.efa_node_info or the validation probe).",
        "Read the error; run ansible NODE -m nixl_efa.cluster.efa_node_info by hand.",
    ),
    "efa_device": (
        "No EFA PCI device: the instance type has no EFA, or the instance was launched without an EFA network "
        "interface (InterfaceType efa).",
        "Use an EFA-capable instance type (nixl_efa.cluster.efa_instance_type_info tells: p4d, p5, g5.12xlarge and "
        "larger, ...) launched with an efa interface, as the instances role's launch template does.",
    ),
    "efa_not_installed": (
        "The EFA software is missing (no /opt/amazon/efa_installed_packages): without the EFA installer there is "
        "no efa kernel module and no EFA libfabric.",
        "Apply nixl_efa.cluster.efa (the EFA installer), or use a Deep Learning AMI, which ships it.",
    ),
    "efa_module": (
        "The efa kernel module is not loaded although the EFA software is installed (a kernel update without the "
        "module rebuilt, or the module failed to load).",
        "modprobe efa and read dmesg | grep -i efa; reboot after a kernel update; re-run the EFA installer.",
    ),
    "infiniband": (
        "No /dev/infiniband verbs devices: the efa driver has not bound an EFA device.",
        "Load the efa module (modprobe efa), check the EFA PCI device, re-run the EFA installer.",
    ),
    "fi_info_efa": (
        "libfabric does not offer the efa provider: fi_info is not the EFA installer's "
        "(/opt/amazon/efa/bin/fi_info), FI_PROVIDER names another provider, or there is no EFA device.",
        "Put /opt/amazon/efa/bin first on PATH and /opt/amazon/efa/lib on LD_LIBRARY_PATH, unset FI_PROVIDER or "
        "set it to efa, and fix the EFA device and efa module checks first.",
    ),
    "fi_info": (
        "libfabric does not offer the {provider} provider on this node (not built in, or FI_PROVIDER restricts "
        "the providers).",
        "Check fi_info -l; unset FI_PROVIDER, or set validation_fabric_provider to a provider fi_info lists.",
    ),
    "fi_info_missing": (
        "fi_info is not installed (neither /opt/amazon/efa/bin/fi_info nor one on PATH).",
        "Apply nixl_efa.cluster.efa (the EFA installer; libfabric-bin from the distribution in the lab).",
    ),
    "gpu": (
        "No NVIDIA GPU is visible: the instance type has none, or the NVIDIA driver is not loaded (nvidia-smi "
        "missing or failing).",
        "Use a GPU instance type (p4d, p5, g5, g6e) and an AMI with the NVIDIA driver (a Deep Learning AMI); run "
        "nvidia-smi on the node.",
    ),
    "pingpong_refused": (
        "The client could not open fi_pingpong's control connection to {server} port {port}: the server did not "
        "start, or the security group does not let the nodes reach each other.",
        "Read the server's output in the details; the cluster's security group needs the self-referencing rule "
        "that allows ALL traffic (protocol -1, inbound and outbound, source the group itself), which the "
        "network role creates.",
    ),
    "pingpong_timeout": (
        "The control connection worked but the transfer hung or lost messages: the fabric traffic itself is "
        "blocked. EFA's SRD traffic is not TCP, so a security group that allows only TCP between the nodes "
        "passes the control connection and drops the data.",
        "Give the security group a self-referencing rule for ALL traffic (protocol -1) inbound and outbound, and "
        "launch both nodes in the same subnet and the cluster placement group.",
    ),
    "pingpong_provider": (
        "fi_pingpong found no usable {provider} endpoint (fi_getinfo failed): wrong provider or FI_PROVIDER, or "
        "no EFA device on one of the nodes.",
        "Run fi_info -p {provider} on both nodes; unset FI_PROVIDER; fix the EFA device checks first.",
    ),
    "pingpong_server": (
        "fi_pingpong did not run on the server node {server}.",
        "Read the server's error in the details (fi_pingpong missing: apply nixl_efa.cluster.efa; port {port} in "
        "use: set validation_pingpong_port).",
    ),
    "pingpong": (
        "fi_pingpong between the nodes failed.",
        "Read the client's and the server's output in the details; run the pair by hand with -v.",
    ),
    "nixl_missing": (
        "NIXL is not installed on {node} (no nixl_efa_nixl fact).",
        "Apply nixl_efa.cluster.nixl to every node.",
    ),
    "nixl_metadata": (
        "The NIXL agents did not exchange metadata over TCP ({target} port {port}): the target did not listen, or "
        "the security group blocks the port between the nodes.",
        "Read the target's error in the details; allow all traffic within the cluster's security group; pick a "
        "free port with validation_nixl_port.",
    ),
    "nixl_port": (
        "The NIXL target could not listen on {target} port {port}: another socket on that node holds the port "
        "(another program's listener, or an outgoing connection given that port from the node's ephemeral range).",
        "The details name the sockets on the port. Set validation_nixl_port to a port that nothing on the node uses, "
        "below the ephemeral range (net.ipv4.ip_local_port_range, 32768-60999 by default).",
    ),
    "nixl_transfer": (
        "The NIXL WRITE did not complete with backend {backend}: the fabric path between the nodes is broken (for "
        "LIBFABRIC on EFA, the causes of a failing fi_pingpong: security group without the all-traffic rule, no "
        "EFA device, wrong FI_PROVIDER).",
        "Make fi_pingpong pass first; then check the nixl_efa_nixl fact and the nixl environment file "
        "(LD_LIBRARY_PATH must put /opt/amazon/efa/lib first for LIBFABRIC).",
    ),
    "nixl_mismatch": (
        "The bytes the target received differ from those the initiator wrote.",
        "A transfer that completes with wrong data is a NIXL or provider bug: keep this report (it has the "
        "versions) and try the other backend (validation_nixl_backend).",
    ),
    "nixl": (
        "The NIXL transfer script failed.",
        "Read the error and the traceback in the details; run the script by hand in the NIXL venv.",
    ),
    "nccl_missing": (
        "{node} has GPUs but no nixl_efa_nccl fact: the nccl role was not applied.",
        "Apply nixl_efa.cluster.nccl to every node.",
    ),
    "nccl_torchrun": (
        "torchrun (PyTorch) was not found on {node}.",
        "Set validation_torchrun to the torchrun of an environment with CUDA PyTorch (the vllm role's venv, or "
        "/opt/pytorch/bin/torchrun on a Deep Learning AMI).",
    ),
    "nccl_rendezvous": (
        "The torchrun processes did not meet at the c10d rendezvous on {master} port {port}: the port is blocked "
        "between the nodes, or a node did not start.",
        "Allow all traffic within the cluster's security group; pick a free port with validation_nccl_port; read "
        "each node's output in the details.",
    ),
    "nccl_net": (
        "NCCL could not set up its network transport: the aws-ofi-nccl plugin is missing or does not find the "
        "efa provider (FI_PROVIDER, LD_LIBRARY_PATH), or the security group drops the EFA traffic.",
        "Source the nccl role's environment file, run again with NCCL_DEBUG=INFO (validation_nccl_env) and look "
        "for NET/OFI lines; fix the EFA checks first.",
    ),
    "nccl": (
        "The NCCL all_reduce failed.",
        "Read each node's output in the details; run again with NCCL_DEBUG=INFO in validation_nccl_env.",
    ),
    "mlflow_missing": (
        "{node} is in group mlflow but has no nixl_efa_mlflow fact: the mlflow role was not applied.",
        "Apply nixl_efa.cluster.mlflow to the mlflow group, or set validation_mlflow_url.",
    ),
    "mlflow_unreachable": (
        "The MLflow server at {url} did not answer from {node}: the service is not running, or port {port} is not "
        "open between the nodes.",
        "On the MLflow node: systemctl status nixl-efa-mlflow, journalctl -u nixl-efa-mlflow; the security group "
        "must allow the MLflow port from the cluster's own group (the network role's rule).",
    ),
    "mlflow_forbidden": (
        "MLflow refused the request (HTTP {status}): its host-header or CORS protection does not accept {url}.",
        "Add the address to mlflow_allowed_hosts of the mlflow role and restart the server.",
    ),
    "mlflow_mismatch": (
        "The run read on {node} does not hold what {writer} wrote.",
        "Several MLflow servers behind one address, or a backend store that lost the write: check the server's "
        "backend store and its log.",
    ),
    "mlflow": (
        "The MLflow write or read failed.",
        "Read the error in the details; try the REST API by hand: curl {url}/api/2.0/mlflow/experiments/search.",
    ),
    "vllm": (
        "A vLLM endpoint did not answer as it should (a service down or still loading the model, or the proxy "
        "cannot reach them), or decode did not pull the prompt's KV blocks from prefill through NIXL (a failed "
        "transfer recomputed under kv_load_failure_policy recompute, a handshake that timed out, a prompt shorter "
        "than a KV block), or its text differs from the single server's.",
        "journalctl -u 'nixl-efa-vllm-*' on the nodes ('Finished recving KV transfer' on decode, 'NIXL' errors); "
        "curl the decode server's /metrics for vllm:nixl_*; the security group must allow the vLLM and side-channel "
        "ports inside the VPC.",
    ),
}


class _Context(dict):
    def __missing__(self, key):
        return "?"


def hint(kind, **context):
    """{cause, fix} for a failure kind (falls back to the kind's family: pingpong_x -> pingpong)."""
    cause, fix = HINTS.get(kind) or HINTS.get(kind.split("_")[0], ("", ""))
    context = _Context({k: v for k, v in context.items() if v is not None})
    return {"cause": cause.format_map(context), "fix": fix.format_map(context)}


def make_check(check_id, title, status, reason, node=None, nodes=None, figures=None, details=None, kind=None, ctx=None):
    check = {
        "id": check_id,
        "title": title,
        "node": node,
        "nodes": list(nodes if nodes is not None else ([node] if node else [])),
        "status": status,
        "reason": reason,
        "figures": figures or {},
        "details": details or {},
    }
    if status == "failed":
        check.update(hint(kind or check_id.split(".")[0], **dict({"node": node}, **(ctx or {}))))
    return check


def planned_check(check_id, title, plan):
    """The check for a plan entry that did not run (skipped, or failed before running)."""
    return make_check(
        check_id,
        title,
        plan.get("status", "skipped"),
        plan.get("reason") or "not run",
        nodes=plan.get("nodes") or [],
        kind=plan.get("kind"),
        ctx=plan.get("context"),
    )


# --- fi_pingpong ---------------------------------------------------------------------------

_NUMBER = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([kmgt]?)$")
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}


def _scaled(text, base):
    match = _NUMBER.match(text.strip().lower())
    if not match:
        raise ValueError(f"not a number: {text!r}")
    return int(round(float(match.group(1)) * base ** _POWERS[match.group(2)]))


def parse_pingpong(text):
    """fi_pingpong's result table (client's or server's) as a list of dicts, one per message size.

    fi_pingpong prints sizes with binary suffixes (1k = 1024 bytes, 1.2k = 1.2 x 1024) and counts with
    decimal ones (3k = 3000); MB/sec is 10^6 bytes per second.
    """
    rows = []
    header = False
    for line in (text or "").splitlines():
        fields = line.split()
        if fields[:2] == ["bytes", "#sent"]:
            header = True
            continue
        if not header or len(fields) != 8:
            continue
        try:
            rows.append(
                {
                    "bytes": _scaled(fields[0], 1024),
                    "sent": _scaled(fields[1], 1000),
                    "acked": _scaled(fields[2].lstrip("="), 1000),
                    "total_bytes": _scaled(fields[3], 1024),
                    "seconds": float(fields[4].rstrip("s")),
                    "mb_per_s": float(fields[5]),
                    "usec_per_xfer": float(fields[6]),
                    "mxfers_per_s": float(fields[7]),
                }
            )
        except ValueError:
            continue
    return rows


def pingpong_summary(rows):
    """Headline figures: bandwidth at the largest size, latency at the smallest, and the extremes."""
    if not rows:
        return {}
    largest = max(rows, key=lambda r: r["bytes"])
    smallest = min(rows, key=lambda r: r["bytes"])
    fastest = max(rows, key=lambda r: r["mb_per_s"])
    return {
        "largest_bytes": largest["bytes"],
        "largest_mb_per_s": largest["mb_per_s"],
        "smallest_bytes": smallest["bytes"],
        "smallest_usec_per_xfer": smallest["usec_per_xfer"],
        "max_mb_per_s": fastest["mb_per_s"],
        "max_mb_per_s_at_bytes": fastest["bytes"],
        "min_usec_per_xfer": min(r["usec_per_xfer"] for r in rows),
    }


# --- small helpers -------------------------------------------------------------------------


def json_line(text, marker=None):
    """The last JSON object on a line of its own in text (after marker when given), else None."""
    for raw in reversed((text or "").splitlines()):
        line = raw.strip()
        if marker:
            if not line.startswith(marker):
                continue
            line = line[len(marker) :].strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


_RENDEZVOUS_ERROR = r"Rendezvous\w*Error|DistNetworkError|DistStoreError"
_NCCL_NET_ERROR = r"NET/OFI|aws-ofi-nccl|NCCL WARN|nccl(System|Internal|Remote)Error"


def _last_match(text, pattern):
    """The last line of text that matches pattern, stripped and cut to 300 characters, else ""."""
    for line in reversed(str(text or "").splitlines()):
        if re.search(pattern, line):
            return line.strip()[:300]
    return ""


def _tail(text, lines=8):
    return [line for line in str(text or "").splitlines() if line.strip()][-lines:]


def _dict(value):
    return value if isinstance(value, dict) else {}


def _ran(reg):
    reg = _dict(reg)
    return bool(reg) and not reg.get("skipped")


def _facts(node):
    return _dict(_dict(node.get("probe")).get("facts"))


def _fact(node, name):
    fact = _facts(node).get(name)
    return fact if isinstance(fact, dict) and "error" not in fact else None


def _node_info(node):
    info = _dict(node.get("node_info"))
    return None if not info or info.get("failed") or info.get("skipped") else info


def _probe_ok(node):
    probe = _dict(node.get("probe"))
    return bool(probe) and not probe.get("error")


def _nodes(data):
    nodes = [dict(n) for n in data.get("nodes") or []]
    return sorted(nodes, key=lambda n: (int(n.get("node_index") or 0), n.get("name", "")))


def _fi_info_ok(node):
    fi = _dict(_dict(node.get("probe")).get("fi_info"))
    return fi.get("rc") == 0 and fi.get("matched", 0) > 0


def _selected(data, name):
    return name in (data.get("checks") or CHECK_NAMES)


def _why(text, default):
    """A fact's reason without a leading "skipped: " (the roles write "skipped: no GPU")."""
    text = str(text or "").strip()
    return (text[len("skipped:") :].strip() if text.lower().startswith("skipped:") else text) or default


def _strip(mapping, *keys):
    return {k: v for k, v in _dict(mapping).items() if k not in keys}


# --- plan ----------------------------------------------------------------------------------


def _skipped(reason, **extra):
    return dict(extra, status="skipped", reason=reason)


def _failed(reason, kind, **context):
    return {"status": "failed", "reason": reason, "kind": kind, "context": context}


def _pair_problem(data, nodes, what):
    """Why a check between the first two nodes cannot run, or None."""
    if not _selected(data, what):
        return "not selected (validation_checks)"
    if len(nodes) < 2:
        return f"needs two nodes in the play, found {len(nodes)}"
    for node in nodes[:2]:
        if not node.get("reachable", True):
            return f"node {node['name']} is unreachable"
        if not _probe_ok(node):
            return f"the probe of node {node['name']} failed"
    return None


def validation_plan(data):
    """Decide which checks between nodes run, on which nodes, and why the others do not.

    data: entry (main or efa), checks (selected names), nodes (per node: name, node_index, private_ip,
    groups, reachable, node_info, probe), settings, mlflow_url (explicit), mlflow_hosts (group
    mlflow), mlflow_fact_urls ({host: url} of the nixl_efa_mlflow facts the controller knows).

    Returns {pair, nodes, pingpong, nixl, nccl, mlflow, vllm}; each check entry has status (run,
    skipped or failed) and reason, and when it runs what the tasks need.
    """
    nodes = _nodes(data)
    settings = _dict(data.get("settings"))
    plan = {"pair": [n["name"] for n in nodes[:2]], "nodes": [n["name"] for n in nodes]}

    problem = _pair_problem(data, nodes, "pingpong")
    if problem is None:
        bad = [n["name"] for n in nodes[:2] if not _fi_info_ok(n)]
        if bad:
            provider = settings.get("fabric_provider", "efa")
            problem = f"fi_info -p {provider} failed on {', '.join(bad)} (see that check)"
    if problem:
        plan["pingpong"] = _skipped(problem)
    else:
        plan["pingpong"] = {
            "status": "run",
            "reason": "",
            "server": nodes[0]["name"],
            "client": nodes[1]["name"],
            "server_ip": nodes[0]["private_ip"],
            "nodes": [nodes[0]["name"], nodes[1]["name"]],
        }
    if data.get("entry") == "efa":
        for name in ("nixl", "nccl", "mlflow", "vllm"):
            plan[name] = _skipped("not part of the efa entry point")
        return plan
    plan["nixl"] = _plan_nixl(data, nodes, settings)
    plan["nccl"] = _plan_nccl(data, nodes)
    plan["mlflow"] = _plan_mlflow(data, nodes)
    plan["vllm"] = _plan_vllm(data, nodes)
    return plan


def _plan_nixl(data, nodes, settings):
    problem = _pair_problem(data, nodes, "nixl")
    if problem:
        return _skipped(problem)
    backend = settings.get("nixl_backend", "LIBFABRIC")
    per_node = {}
    for node in nodes[:2]:
        name = node["name"]
        fact = _fact(node, "nixl_efa_nixl")
        if not fact:
            return _failed(f"NIXL is not installed on {name} (no nixl_efa_nixl fact)", "nixl_missing", node=name)
        state = _dict(_dict(fact.get("backends")).get(backend))
        if not state:
            return _skipped(f"backend {backend} was not probed on {name} (add it to the nixl role's nixl_backends)")
        if not state.get("loadable"):
            return _skipped(f"backend {backend} is not loadable on {name}: {state.get('error')}")
        per_node[name] = {
            "python": fact.get("python") or "python3",
            "module": fact.get("module") or "nixl_cu12",
            "env_file": fact.get("env_file") or "",
            "version": fact.get("version"),
        }
    return {
        "status": "run",
        "reason": "",
        "initiator": nodes[0]["name"],
        "target": nodes[1]["name"],
        "target_ip": nodes[1]["private_ip"],
        "backend": backend,
        "node": per_node,
        "nodes": [nodes[0]["name"], nodes[1]["name"]],
    }


def _plan_nccl(data, nodes):
    if not _selected(data, "nccl"):
        return _skipped("not selected (validation_checks)")
    if len(nodes) < 2:
        return _skipped(f"needs two nodes in the play, found {len(nodes)}")
    settings = _dict(data.get("settings"))
    # gloo runs on CPUs: a way to try the launch where there is no GPU, never a GPU measurement.
    cpu_only = settings.get("nccl_backend") == "gloo"
    per_node_setting = int(settings.get("nccl_gpus_per_node") or 0)
    per_node = {}
    for node in nodes:
        name = node["name"]
        if not node.get("reachable", True):
            return _skipped(f"node {name} is unreachable")
        gpus = int(_dict(_dict(_node_info(node)).get("gpu")).get("count") or 0)
        fact = _fact(node, "nixl_efa_nccl")
        if not cpu_only:
            if fact is not None and not fact.get("gpu"):
                why = _why(fact.get("reason"), "no GPU")
                return _skipped(f"no GPU on {name}" + ("" if why.lower() == "no gpu" else f" ({why})"))
            if fact is None:
                if gpus == 0:
                    return _skipped(f"no GPU on {name}")
                return _failed(f"{name} has {gpus} GPUs but no nixl_efa_nccl fact", "nccl_missing", node=name)
            gpus = int(fact.get("gpus") or gpus)
        torchrun = _dict(node.get("probe")).get("torchrun")
        if not torchrun:
            return _failed(f"torchrun not found on {name}", "nccl_torchrun", node=name)
        per_node[name] = {
            "procs": per_node_setting or (1 if cpu_only else gpus),
            "torchrun": torchrun,
            "python": _dict(node.get("probe")).get("torchrun_python") or torchrun.rsplit("/", 1)[0] + "/python3",
            "env_file": _dict(fact).get("env_file") or "",
        }
    return {
        "status": "run",
        "reason": "",
        "backend": "gloo" if cpu_only else "nccl",
        "master": nodes[0]["name"],
        "master_ip": nodes[0]["private_ip"],
        "nnodes": len(nodes),
        "node": per_node,
        "nodes": [n["name"] for n in nodes],
    }


def _plan_mlflow(data, nodes):
    if not _selected(data, "mlflow"):
        return _skipped("not selected (validation_checks)")
    if not nodes:
        return _skipped("no nodes in the play")
    url = data.get("mlflow_url") or ""
    hosts = list(data.get("mlflow_hosts") or [])
    if not url:
        urls = {k: v for k, v in _dict(data.get("mlflow_fact_urls")).items() if v}
        for node in nodes:
            fact = _fact(node, "nixl_efa_mlflow")
            if fact and fact.get("url"):
                urls.setdefault(node["name"], fact["url"])
        url = next((urls[h] for h in hosts if h in urls), next(iter(urls.values()), ""))
    if not url:
        if hosts:
            return _failed(
                f"no MLflow URL: {hosts[0]} is in group mlflow but has no nixl_efa_mlflow fact",
                "mlflow_missing",
                node=hosts[0],
            )
        return _skipped("no MLflow server: no host in group mlflow and validation_mlflow_url is empty")
    writer = nodes[0]
    reader = nodes[1] if len(nodes) > 1 else nodes[0]
    for node in (writer, reader):
        if not node.get("reachable", True):
            return _skipped(f"node {node['name']} is unreachable")
    return {
        "status": "run",
        "reason": "",
        "url": url.rstrip("/"),
        "writer": writer["name"],
        "reader": reader["name"],
        "nodes": sorted({writer["name"], reader["name"]}, key=[n["name"] for n in nodes].index),
    }


def _plan_vllm(data, nodes):
    if not _selected(data, "vllm"):
        return _skipped("not selected (validation_checks)")
    facts = [(n, _fact(n, "nixl_efa_vllm")) for n in nodes if n.get("reachable", True)]
    facts = [(n, f) for n, f in facts if f is not None]
    if not facts:
        return _skipped("no node has a nixl_efa_vllm fact (the vllm role was not applied)")
    serving = [f for n, f in facts if f.get("serving")]
    if not serving:
        node, fact = facts[0]
        return _skipped(f"vLLM is not serving ({node['name']}: {_why(fact.get('reason'), 'no reason given')})")
    # The single (plain) server is a unit on a prefill host: that host runs the check, to start and stop it.
    single = next(((n, f) for n, f in facts if f.get("serving") and f.get("single_unit")), None)
    runner = single[0]["name"] if single else nodes[0]["name"]
    plan = {"status": "run", "reason": "", "runner": runner, "nodes": [runner]}
    for key in ("prefill_url", "decode_url", "proxy_url", "model", "release"):
        plan[key] = next((f[key] for f in serving if f.get(key)), "")
    plan["single_url"] = single[1]["single_url"] if single else ""
    plan["single_unit"] = single[1]["single_unit"] if single else ""
    return plan


# --- checks --------------------------------------------------------------------------------


def node_checks(node, settings):
    """The checks of one node: EFA device, efa module, /dev/infiniband, GPUs, fi_info -p provider."""
    name = node["name"]
    if not node.get("reachable", True):
        return [make_check("node.reachable", "Node answers", "failed", "no answer", node=name, kind="unreachable")]
    provider = settings.get("fabric_provider", "efa")
    info = _node_info(node)
    if info is None:
        error = _dict(node.get("node_info")).get("msg") or "no result"
        checks = [
            make_check(check_id, title, "failed", f"efa_node_info failed: {error}", node=name, kind="node_info")
            for check_id, title in (
                ("node.efa_device", "EFA PCI device"),
                ("node.efa_module", "efa kernel module"),
                ("node.infiniband", "/dev/infiniband devices"),
                ("node.gpu", "NVIDIA GPUs"),
            )
        ]
        return checks + [_fi_info_check(node, provider)]

    def absent(check_id, title, reason, kind, setting):
        if settings.get(setting, True):
            return make_check(check_id, title, "failed", reason, node=name, kind=kind, ctx={"provider": provider})
        return make_check(check_id, title, "skipped", f"{reason}; not expected here ({setting} is false)", node=name)

    efa = _dict(info.get("efa"))
    on_type = f" (instance type {info['instance_type']})" if info.get("instance_type") else ""
    checks = []
    devices = efa.get("pci_devices") or []
    if devices:
        addresses = ", ".join(d.get("address", "?") for d in devices)
        checks.append(
            make_check(
                "node.efa_device",
                "EFA PCI device",
                "passed",
                f"{len(devices)} EFA device(s): {addresses}",
                node=name,
                figures={"efa_devices": len(devices)},
            )
        )
    else:
        checks.append(
            absent("node.efa_device", "EFA PCI device", "no EFA PCI device" + on_type, "efa_device", "expect_efa")
        )
    if efa.get("kernel_module_loaded"):
        checks.append(make_check("node.efa_module", "efa kernel module", "passed", "efa module loaded", node=name))
    elif efa.get("installed"):
        checks.append(
            absent("node.efa_module", "efa kernel module", "efa module not loaded", "efa_module", "expect_efa")
        )
    else:
        reason = "efa module not loaded, EFA software not installed"
        checks.append(absent("node.efa_module", "efa kernel module", reason, "efa_not_installed", "expect_efa"))
    verbs = sorted(d for d in efa.get("infiniband_devices") or [] if d.startswith("/dev/infiniband/"))
    if verbs:
        checks.append(
            make_check(
                "node.infiniband",
                "/dev/infiniband devices",
                "passed",
                ", ".join(verbs),
                node=name,
                figures={"infiniband_devices": len(verbs)},
            )
        )
    else:
        reason = "no /dev/infiniband devices"
        checks.append(absent("node.infiniband", "/dev/infiniband devices", reason, "infiniband", "expect_efa"))
    gpu = _dict(info.get("gpu"))
    count = int(gpu.get("count") or 0)
    if count:
        names = " / ".join(sorted({g.get("name") or "GPU" for g in gpu.get("gpus") or []})) or "GPU"
        reason = f"{count} x {names}, CUDA {gpu.get('cuda_version') or '?'}"
        checks.append(make_check("node.gpu", "NVIDIA GPUs", "passed", reason, node=name, figures={"gpus": count}))
    else:
        why = (
            f" (nvidia-smi: {gpu['error']})"
            if gpu.get("error")
            else (" (no nvidia-smi)" if not gpu.get("nvidia_smi") else "")
        )
        checks.append(absent("node.gpu", "NVIDIA GPUs", "no GPU" + why + on_type, "gpu", "expect_gpu"))
    checks.append(_fi_info_check(node, provider))
    return checks


def _fi_info_check(node, provider):
    name = node["name"]
    title = f"fi_info -p {provider}"
    probe = _dict(node.get("probe"))
    if not _probe_ok(node):
        error = probe.get("error") or "no result"
        return make_check("node.fi_info", title, "failed", f"probe failed: {error}", node=name, kind="node_info")
    fi = _dict(probe.get("fi_info"))
    if fi.get("rc") == 0 and fi.get("matched"):
        entries = [e for e in fi.get("entries") or [] if provider in str(e.get("provider", "")).split(";")]
        domains = ", ".join(sorted({e.get("domain", "?") for e in entries}))
        return make_check(
            "node.fi_info",
            title,
            "passed",
            f"{fi['matched']} {provider} endpoint(s) from {fi.get('path')}, domains {domains}",
            node=name,
            figures={"fi_info_entries": fi["matched"]},
            details={"entries": entries[:8]},
        )
    kind = "fi_info_missing" if not fi.get("path") else "fi_info_efa" if provider == "efa" else "fi_info"
    reason = f"{fi.get('path') or 'fi_info'}: {fi.get('error') or 'rc ' + str(fi.get('rc'))}"
    return make_check("node.fi_info", title, "failed", reason, node=name, kind=kind, ctx={"provider": provider})


def pingpong_check(plan, results, settings):
    title = "fi_pingpong between the first two nodes"
    if plan.get("status") != "run":
        return planned_check("fabric.pingpong", title, plan)
    provider = settings.get("fabric_provider", "efa")
    port = settings.get("pingpong_port")
    client = _dict(results.get("client"))
    server = _dict(results.get("server"))
    server_start = _dict(results.get("server_start"))
    rows = parse_pingpong(client.get("stdout"))
    server_rows = parse_pingpong(server.get("stdout"))
    server_text = "\n".join(str(x or "") for x in (server.get("stderr"), server.get("msg"), server_start.get("msg")))
    details = {
        "provider": provider,
        "endpoint": settings.get("pingpong_endpoint"),
        "iterations": settings.get("pingpong_iterations"),
        "server": {
            "node": plan["server"],
            "address": plan["server_ip"],
            "port": port,
            "rc": server.get("rc"),
            "finished": bool(server.get("finished")),
            "sizes": len(server_rows),
            "stderr": _tail(server_text),
        },
        "client": {
            "node": plan["client"],
            "rc": client.get("rc"),
            "attempts": client.get("attempts"),
            "stderr": _tail(client.get("stderr")),
        },
        "sizes": rows,
    }
    summary = pingpong_summary(rows)
    complete = bool(rows) and all(r["acked"] == r["sent"] for r in rows)
    if client.get("rc") == 0 and complete and summary["largest_mb_per_s"] > 0:
        reason = (
            f"{plan['client']} -> {plan['server']} over {provider}: {summary['largest_mb_per_s']:.2f} MB/s at "
            f"{summary['largest_bytes']} bytes, {summary['smallest_usec_per_xfer']:.2f} usec/xfer at "
            f"{summary['smallest_bytes']} bytes (lowest {summary['min_usec_per_xfer']:.2f})"
        )
        return make_check(
            "fabric.pingpong", title, "passed", reason, nodes=plan["nodes"], figures=summary, details=details
        )
    text = "\n".join(str(x or "") for x in (client.get("stderr"), client.get("stdout"), client.get("msg")))
    if not _ran(client):
        kind, reason = "pingpong", "the client did not run"
    elif server.get("finished") and server.get("rc") not in (0, None) and not server_rows:
        kind = "pingpong_server"
        said = " ".join(_tail(server_text, 2)) or "no output"
        reason = f"the server on {plan['server']} exited {server.get('rc')}: {said}"
    elif "fi_getinfo" in text:
        kind, reason = "pingpong_provider", f"fi_getinfo failed: {' '.join(_tail(text, 2))}"
    elif client.get("rc") == 111 or "Connection refused" in text or "failed to connect" in text:
        kind, reason = "pingpong_refused", f"connection to {plan['server_ip']} port {port} refused"
    elif client.get("rc") in (124, 137):
        timeout = settings.get("pingpong_timeout")
        kind, reason = "pingpong_timeout", f"timed out after {timeout} s with {len(rows)} message size(s) done"
    elif rows and not complete:
        kind, reason = "pingpong_timeout", "messages were lost (fewer acknowledged than sent)"
    else:
        kind, reason = "pingpong", f"the client exited {client.get('rc')}: {' '.join(_tail(text, 2)) or 'no output'}"
    ctx = {"server": f"{plan['server']} ({plan['server_ip']})", "port": port, "provider": provider}
    return make_check(
        "fabric.pingpong",
        title,
        "failed",
        reason,
        nodes=plan["nodes"],
        figures=summary,
        details=details,
        kind=kind,
        ctx=ctx,
    )


def _memcpy_figures(initiator):
    """The initiator's plain memory copy of the same buffer, and the NIXL GB/s as a share of it.

    Answers of the transfer script before the yardstick existed have no memcpy_gbps: then nothing.
    """
    memcpy = initiator.get("memcpy_gbps")
    if not isinstance(memcpy, (int, float)) or isinstance(memcpy, bool) or memcpy <= 0:
        return {}
    share = initiator.get("share_of_memcpy")
    if not isinstance(share, (int, float)) or isinstance(share, bool):
        share = round(initiator["gbps"] / memcpy, 4)
    figures = {"memcpy_gbps": memcpy, "share_of_memcpy": share}
    if isinstance(initiator.get("memcpy_gbps_best"), (int, float)):
        figures["memcpy_gbps_best"] = initiator["memcpy_gbps_best"]
    return figures


def nixl_check(plan, results, settings):
    title = "NIXL transfer between the first two nodes"
    if plan.get("status") != "run":
        return planned_check("nixl.transfer", title, plan)
    initiator_reg = _dict(results.get("initiator"))
    target_reg = _dict(results.get("target"))
    initiator = json_line(initiator_reg.get("stdout")) or {}
    target = json_line(target_reg.get("stdout")) or {}
    size = settings.get("nixl_size_mib")
    details = {
        "backend": plan["backend"],
        "initiator": dict(
            _strip(initiator, "traceback"),
            node=plan["initiator"],
            rc=initiator_reg.get("rc"),
            stderr=_tail(initiator_reg.get("stderr"), 4),
        ),
        "target": dict(
            _strip(target, "traceback"),
            node=plan["target"],
            rc=target_reg.get("rc"),
            finished=bool(target_reg.get("finished")),
            stderr=_tail(target_reg.get("stderr"), 4),
        ),
        "tracebacks": {
            k: v["traceback"] for k, v in (("initiator", initiator), ("target", target)) if v.get("traceback")
        },
        "versions": {n: v.get("version") for n, v in _dict(plan.get("node")).items()},
    }
    figures = {}
    if initiator.get("gbps") is not None:
        figures = {
            "gbps": initiator["gbps"],
            "gbps_first": initiator.get("gbps_first"),
            "gbps_best": initiator.get("gbps_best"),
            "size_mib": size,
            "iterations": initiator.get("iterations"),
        }
        figures.update(_memcpy_figures(initiator))
    if target.get("phase") == "done":
        figures["bytes_match"] = bool(target.get("match"))
    match = bool(target.get("match")) and target.get("sha256") == initiator.get("sha256")
    if initiator.get("ok") and target.get("ok") and match:
        reason = (
            f"{plan['initiator']} -> {plan['target']} with {plan['backend']}, "
            f"{size} MiB x {initiator.get('iterations')}: "
            f"{initiator['gbps']:.3f} GB/s (first transfer {initiator.get('gbps_first') or 0:.3f} GB/s), bytes match "
            f"(sha256 {str(target.get('sha256'))[:16]})"
        )
        return make_check(
            "nixl.transfer", title, "passed", reason, nodes=plan["nodes"], figures=figures, details=details
        )
    errors = "; ".join(
        f"{side}: {r['error']}" for side, r in (("initiator", initiator), ("target", target)) if r.get("error")
    )
    phases = {initiator.get("phase"), target.get("phase")}
    if target.get("phase") == "done" and not target.get("match"):
        kind, reason = "nixl_mismatch", target.get("error") or "the bytes differ"
    elif not initiator and not target:
        text = " ".join(_tail(f"{initiator_reg.get('stderr') or ''}\n{initiator_reg.get('msg') or ''}", 2))
        kind, reason = "nixl", f"no answer from the script: {text or 'no output'}"
    elif target.get("phase") == "agent" and "PortInUse" in str(target.get("error")):
        kind, reason = "nixl_port", errors
    elif "metadata" in phases:
        kind, reason = "nixl_metadata", errors or "the metadata exchange did not finish"
    elif "transfer" in phases:
        kind, reason = "nixl_transfer", errors or "the transfer did not finish"
    elif initiator.get("ok") and not target:
        kind, reason = "nixl", "the target did not report back before the deadline"
    else:
        kind, reason = "nixl", errors or "the transfer did not succeed"
    ctx = {"target": plan["target_ip"], "port": settings.get("nixl_port"), "backend": plan["backend"]}
    return make_check(
        "nixl.transfer",
        title,
        "failed",
        reason,
        nodes=plan["nodes"],
        figures=figures,
        details=details,
        kind=kind,
        ctx=ctx,
    )


def nccl_check(plan, results, settings):
    backend = plan.get("backend") or settings.get("nccl_backend") or "nccl"
    title = f"{'NCCL' if backend == 'nccl' else backend + ' (CPU, not NCCL)'} all_reduce across the nodes (torchrun)"
    if plan.get("status") != "run":
        return planned_check("nccl.all_reduce", title, plan)
    per_node = {}
    answer = None
    texts = []
    for name in plan["nodes"]:
        reg = _dict(_dict(results).get(name))
        per_node[name] = {
            "rc": reg.get("rc"),
            "finished": bool(reg.get("finished")),
            "stderr": _tail(reg.get("stderr"), 6),
        }
        answer = answer or json_line(reg.get("stdout"), NCCL_MARKER)
        texts.append("\n".join(str(x or "") for x in (reg.get("stdout"), reg.get("stderr"), reg.get("msg"))))
    details = {"nodes": per_node, "result": answer}
    if answer and answer.get("ok") and all(v["rc"] == 0 for v in per_node.values()):
        figures = {k: answer.get(k) for k in ("busbw_gbps", "algbw_gbps", "world_size", "size_bytes", "iterations")}
        reason = (
            f"{answer.get('backend', 'nccl')}: {answer.get('world_size')} ranks on {plan['nnodes']} nodes, "
            f"{(answer.get('size_bytes') or 0) // 2**20} MiB: bus bandwidth {answer.get('busbw_gbps') or 0:.2f} GB/s "
            f"(algorithm {answer.get('algbw_gbps') or 0:.2f} GB/s)"
        )
        return make_check(
            "nccl.all_reduce", title, "passed", reason, nodes=plan["nodes"], figures=figures, details=details
        )
    text = "\n".join(texts)
    if answer and not answer.get("correct", True):
        kind, reason = "nccl", answer.get("error") or "wrong all_reduce result"
    elif _last_match(text, _RENDEZVOUS_ERROR):
        kind, reason = "nccl_rendezvous", "rendezvous failed: " + _last_match(text, _RENDEZVOUS_ERROR)
    elif _last_match(text, _NCCL_NET_ERROR):
        kind, reason = "nccl_net", "NCCL error: " + _last_match(text, _NCCL_NET_ERROR)
    else:
        codes = ", ".join(f"{n} rc {v['rc']}" for n, v in per_node.items())
        kind, reason = "nccl", f"all_reduce did not complete ({codes})"
    ctx = {"master": f"{plan['master']} ({plan['master_ip']})", "port": settings.get("nccl_port")}
    return make_check(
        "nccl.all_reduce", title, "failed", reason, nodes=plan["nodes"], details=details, kind=kind, ctx=ctx
    )


def _url_port(url):
    match = re.search(r"^[a-z]+://[^/:]+:(\d+)", url or "")
    return match.group(1) if match else ("443" if str(url).startswith("https") else "80")


def mlflow_check(plan, results, settings):
    title = "MLflow write on one node, read back on another"
    if plan.get("status") != "run":
        return planned_check("mlflow.write_read", title, plan)
    write_reg = _dict(results.get("write"))
    read_reg = _dict(results.get("read"))
    write = json_line(write_reg.get("stdout")) or {}
    read = json_line(read_reg.get("stdout")) or {}
    details = {
        "url": plan["url"],
        "experiment": settings.get("mlflow_experiment"),
        "write": dict(write, node=plan["writer"]),
        "read": dict(read, node=plan["reader"]),
    }
    figures = {
        f"{side}_seconds": r["seconds"]
        for side, r in (("write", write), ("read", read))
        if r.get("seconds") is not None
    }
    if write.get("ok") and read.get("ok") and read.get("match"):
        reason = (
            f"run {write['run_id']} written on {plan['writer']} ({len(write.get('params') or {})} params, "
            f"{len(write.get('metrics') or {})} metrics), read back identical on {plan['reader']}"
        )
        return make_check(
            "mlflow.write_read", title, "passed", reason, nodes=plan["nodes"], figures=figures, details=details
        )
    status = None
    if not write.get("ok"):
        node = plan["writer"]
        error = write.get("error") or " ".join(_tail(write_reg.get("stderr") or write_reg.get("msg"), 2)) or "no answer"
        status = write.get("status")
    elif not _ran(read_reg):
        node, error = plan["reader"], "the read did not run"
    else:
        node = plan["reader"]
        problems = "; ".join(read.get("problems") or [])
        error = (
            read.get("error")
            or problems
            or " ".join(_tail(read_reg.get("stderr") or read_reg.get("msg"), 2))
            or "no answer"
        )
        status = read.get("status") if read.get("error") else None
    if status in (401, 403):
        kind = "mlflow_forbidden"
    elif read.get("problems") and not read.get("error") and write.get("ok"):
        kind = "mlflow_mismatch"
    elif re.search(r"refused|timed out|No route|unreachable|Name or service|gave up", error):
        kind = "mlflow_unreachable"
    else:
        kind = "mlflow"
    ctx = {"url": plan["url"], "port": _url_port(plan["url"]), "writer": plan["writer"], "node": node, "status": status}
    return make_check(
        "mlflow.write_read",
        title,
        "failed",
        f"{node}: {error}",
        nodes=plan["nodes"],
        figures=figures,
        details=details,
        kind=kind,
        ctx=ctx,
    )


def vllm_figures(answer):
    """The figures of the vLLM check: the disaggregated completion's, NIXL's and the single server's."""
    completion = _dict(answer.get("completion"))
    figures = {}
    for key, name in (
        ("seconds", "completion_seconds"),
        ("completion_tokens", "completion_tokens"),
        ("prompt_tokens", "prompt_tokens"),
        ("ttft_seconds", "ttft_seconds"),
        ("tokens_per_second", "tokens_per_second"),
    ):
        if completion.get(key) is not None:
            figures[name] = completion[key]
    nixl = _dict(answer.get("nixl"))
    for key in ("transfers", "bytes", "failed"):
        if nixl.get(key) is not None:
            figures["nixl_" + key] = int(nixl[key])
    single = _dict(_dict(answer.get("single")).get("completion"))
    for key in ("ttft_seconds", "tokens_per_second"):
        if single.get(key) is not None:
            figures["single_" + key] = single[key]
    if completion.get("text") is not None and single.get("text") is not None:
        figures["text_matches_single"] = completion["text"] == single["text"]
    return figures


def vllm_check(plan, results, settings):
    title = "vLLM prefill -> NIXL -> decode: one completion through the proxy, KV pulled by decode"
    if plan.get("status") != "run":
        return planned_check("vllm.serving", title, plan)
    reg = _dict(results.get("check"))
    answer = json_line(reg.get("stdout")) or {}
    details = dict(answer, runner=plan["runner"], model=plan.get("model"), release=plan.get("release"))
    figures = vllm_figures(answer)
    if answer.get("ok"):
        parts = [f"TTFT {figures.get('ttft_seconds', 0):.3f} s, {figures.get('tokens_per_second') or 0} tokens/s"]
        parts.append(
            f"decode pulled {figures.get('nixl_bytes', 0)} bytes in {figures.get('nixl_transfers', 0)} NIXL transfer(s)"
        )
        if "text_matches_single" in figures:
            parts.append(
                f"same greedy text as the single server (TTFT {figures.get('single_ttft_seconds', 0):.3f} s, "
                f"{figures.get('single_tokens_per_second') or 0} tokens/s)"
            )
        else:
            parts.append(
                "no single server to compare with (validation_vllm_single off, or a GPU node without GPUs to spare)"
            )
        return make_check(
            "vllm.serving", title, "passed", "; ".join(parts), nodes=plan["nodes"], figures=figures, details=details
        )
    reason = (
        "; ".join(answer.get("problems") or [])
        or answer.get("error")
        or " ".join(_tail(reg.get("stderr") or reg.get("msg"), 2))
        or "no answer"
    )
    return make_check(
        "vllm.serving", title, "failed", reason, nodes=plan["nodes"], figures=figures, details=details, kind="vllm"
    )


def mlflow_report_check(plan, reg, settings):
    """Whether the report itself went into MLflow: the last step, reported as honestly as the others."""
    title = "Report logged to MLflow as one run"
    if plan.get("status") != "run":
        return make_check(
            "mlflow.report", title, "skipped", f"no MLflow check ran ({plan.get('reason') or plan.get('status')})"
        )
    reg = _dict(reg)
    if not _ran(reg):
        return make_check(
            "mlflow.report", title, "skipped", "the MLflow write/read check did not pass, so nothing was logged"
        )
    answer = json_line(reg.get("stdout")) or {}
    if answer.get("ok"):
        reason = (
            f"run {answer.get('run_id')}: {answer.get('metrics', 0)} metrics, {answer.get('params', 0)} params, "
            f"{answer.get('tags', 0)} tags, status {answer.get('status')}"
        )
        return make_check("mlflow.report", title, "passed", reason, nodes=[plan["writer"]], details=answer)
    error = answer.get("error") or " ".join(_tail(reg.get("stderr") or reg.get("msg"), 2)) or "no answer"
    kind = "mlflow_unreachable" if re.search(r"refused|timed out|gave up", error) else "mlflow"
    ctx = {"node": plan["writer"], "url": plan.get("url"), "port": _url_port(plan.get("url"))}
    return make_check(
        "mlflow.report", title, "failed", error, nodes=[plan["writer"]], details=answer, kind=kind, ctx=ctx
    )


# --- report --------------------------------------------------------------------------------


def validation_report(data):
    """Build the report from the plan and the raw results.

    data: what validation_plan takes, plus plan (its answer; computed when absent), results
    ({pingpong: {server_start, server, client}, nixl: {target, initiator}, nccl: {node: result},
    mlflow: {write, read}, vllm: {check}, mlflow_report: result}), cluster, started, finished,
    controller. mlflow_report present (even null) adds the check of logging the report itself.
    """
    settings = _dict(data.get("settings"))
    plan = _dict(data.get("plan")) or validation_plan(data)
    results = _dict(data.get("results"))
    nodes = _nodes(data)
    entry = data.get("entry") or "main"
    checks = []
    for node in nodes:
        if _selected(data, "node") or not node.get("reachable", True):
            checks.extend(node_checks(node, settings))
    checks.append(pingpong_check(_dict(plan.get("pingpong")), _dict(results.get("pingpong")), settings))
    if entry != "efa":
        checks.append(nixl_check(_dict(plan.get("nixl")), _dict(results.get("nixl")), settings))
        checks.append(nccl_check(_dict(plan.get("nccl")), _dict(results.get("nccl")), settings))
        checks.append(mlflow_check(_dict(plan.get("mlflow")), _dict(results.get("mlflow")), settings))
        checks.append(vllm_check(_dict(plan.get("vllm")), _dict(results.get("vllm")), settings))
        if "mlflow_report" in results:
            checks.append(mlflow_report_check(_dict(plan.get("mlflow")), results.get("mlflow_report"), settings))
    counts = {status: sum(1 for c in checks if c["status"] == status) for status in STATUSES}
    write = json_line(_dict(_dict(results.get("mlflow")).get("write")).get("stdout")) or {}
    return {
        "schema": SCHEMA,
        "entry": entry,
        "cluster": data.get("cluster"),
        "started": data.get("started"),
        "finished": data.get("finished"),
        "controller": data.get("controller"),
        "summary": dict(counts, checks=len(checks), status="failed" if counts["failed"] else "passed"),
        "settings": settings,
        "nodes": [_node_summary(n) for n in nodes],
        "checks": checks,
        "mlflow": {
            "url": _dict(plan.get("mlflow")).get("url"),
            "experiment": settings.get("mlflow_experiment"),
            "experiment_id": write.get("experiment_id"),
            "run_id": write.get("run_id"),
        },
    }


def _node_summary(node):
    info = _dict(_node_info(node))
    efa = _dict(info.get("efa"))
    gpu = _dict(info.get("gpu"))
    return {
        "name": node.get("name"),
        "node_index": node.get("node_index"),
        "private_ip": node.get("private_ip"),
        "groups": sorted(node.get("groups") or []),
        "reachable": node.get("reachable", True),
        "instance_type": info.get("instance_type") or node.get("inventory_instance_type") or None,
        "efa_installed": efa.get("installed"),
        "efa_installer_version": efa.get("installer_version"),
        "efa_devices": len(efa.get("pci_devices") or []),
        "libfabric_version": _dict(efa.get("libfabric")).get("version"),
        "gpus": gpu.get("count"),
        "gpu_names": sorted({g.get("name") for g in gpu.get("gpus") or [] if g.get("name")}),
        "cuda_version": gpu.get("cuda_version"),
        "nixl_version": _dict(_fact(node, "nixl_efa_nixl")).get("version"),
        "facts": sorted(_facts(node)),
    }


# --- renderings ----------------------------------------------------------------------------

_LABEL = {"passed": "PASS", "failed": "**FAIL**", "skipped": "skip"}


def _md(value):
    return str("-" if value in (None, "") else value).replace("|", "\\|").replace("\n", " ")


def validation_markdown(report):
    """The report as Markdown: summary, a table of every check, failures with cause and fix, figures, nodes."""
    summary = report["summary"]
    settings = report.get("settings") or {}
    lines = [
        f"# Cluster validation: {report.get('cluster')}",
        "",
        f"- Result: **{summary['status'].upper()}**: {summary['passed']} passed, {summary['failed']} failed, "
        f"{summary['skipped']} skipped of {summary['checks']} checks",
        f"- Entry point `{report.get('entry')}`, started {report.get('started')}, finished {report.get('finished')}",
        f"- Fabric provider `{settings.get('fabric_provider')}`, NIXL backend `{settings.get('nixl_backend')}`",
    ]
    mlflow = report.get("mlflow") or {}
    if mlflow.get("run_id"):
        lines.append(
            f"- MLflow: experiment `{mlflow.get('experiment')}`, run `{mlflow['run_id']}` at {mlflow.get('url')}"
        )
    lines += ["", "## Checks", "", "| Check | Node | Status | Result |", "|---|---|---|---|"]
    for check in report["checks"]:
        where = check.get("node") or ", ".join(check.get("nodes") or [])
        lines.append(f"| {_md(check['title'])} | {_md(where)} | {_LABEL[check['status']]} | {_md(check['reason'])} |")
    failures = [c for c in report["checks"] if c["status"] == "failed"]
    if failures:
        lines += ["", "## Failures: likely cause and fix"]
        for check in failures:
            where = check.get("node") or ", ".join(check.get("nodes") or [])
            lines += [
                "",
                f"### {check['title']}" + (f" ({where})" if where else ""),
                "",
                f"- What happened: {check['reason']}",
                f"- Likely cause: {check.get('cause', '')}",
                f"- Fix: {check.get('fix', '')}",
            ]
    lines += _figures_md(report)
    lines += [
        "",
        "## Nodes",
        "",
        "| Node | Index | Address | Instance type | EFA devices | libfabric | GPUs | NIXL |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in report["nodes"]:
        values = (
            n["name"],
            n["node_index"],
            n["private_ip"],
            n.get("instance_type"),
            n.get("efa_devices"),
            n.get("libfabric_version"),
            n.get("gpus"),
            n.get("nixl_version"),
        )
        lines.append("| " + " | ".join(_md(v) for v in values) + " |")
    lines += ["", "A skipped check did not run; its reason says why. Only checks that ran can pass."]
    return "\n".join(lines) + "\n"


def _figures_md(report):
    by_id = {c["id"]: c for c in report["checks"] if c.get("node") is None}
    lines = []
    pingpong = by_id.get("fabric.pingpong")
    if pingpong and pingpong["details"].get("sizes"):
        details = pingpong["details"]
        lines += [
            "",
            f"## fi_pingpong: server {details['server']['node']}, client {details['client']['node']}, "
            f"provider {details.get('provider')}",
            "",
            "| Bytes | Iterations | MB/s | usec/xfer |",
            "|---:|---:|---:|---:|",
        ]
        for row in pingpong["details"]["sizes"]:
            lines.append(f"| {row['bytes']} | {row['sent']} | {row['mb_per_s']:.2f} | {row['usec_per_xfer']:.2f} |")
    figures = []
    nixl = by_id.get("nixl.transfer")
    if nixl and nixl["figures"].get("gbps") is not None:
        f = nixl["figures"]
        figures.append(
            f"- NIXL {nixl['details'].get('backend')} WRITE: {f['gbps']} GB/s "
            f"(first transfer {f.get('gbps_first')} GB/s, "
            f"best {f.get('gbps_best')} GB/s), {f.get('size_mib')} MiB x {f.get('iterations')}, "
            f"bytes match: {f.get('bytes_match')}"
            + (
                f"; {f['share_of_memcpy']:.1%} of a plain memory copy of the same buffer on "
                f"{(nixl['details'].get('initiator') or {}).get('node')} ({f['memcpy_gbps']} GB/s, "
                f"best {f.get('memcpy_gbps_best')} GB/s)"
                if f.get("memcpy_gbps") is not None
                else ""
            )
        )
    nccl = by_id.get("nccl.all_reduce")
    if nccl and nccl["figures"].get("busbw_gbps") is not None:
        f = nccl["figures"]
        figures.append(
            f"- NCCL all_reduce: bus bandwidth {f['busbw_gbps']} GB/s, algorithm bandwidth {f.get('algbw_gbps')} GB/s, "
            f"{f.get('world_size')} ranks"
        )
    vllm = by_id.get("vllm.serving")
    if vllm and vllm["figures"].get("completion_seconds") is not None:
        f = vllm["figures"]
        line = f"- vLLM completion through the proxy: {f['completion_seconds']} s"
        if f.get("ttft_seconds") is not None:
            line += f", TTFT {f['ttft_seconds']} s, {f.get('tokens_per_second')} tokens/s"
        if f.get("single_ttft_seconds") is not None:
            line += f" (single server: TTFT {f['single_ttft_seconds']} s, {f.get('single_tokens_per_second')} tokens/s)"
        figures.append(line)
    if figures:
        lines += ["", "## Figures", ""] + figures
    return lines


def validation_check_line(check):
    """One line for a check: "FAIL fabric.pingpong (val-0, val-1): reason"."""
    where = check.get("node") or ", ".join(check.get("nodes") or [])
    label = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}.get(check.get("status"), "?")
    return f"{label} {check.get('id')}" + (f" ({where})" if where else "") + f": {check.get('reason')}"


def _key(text):
    """An MLflow key: letters, digits, _ - . / and space only."""
    return re.sub(r"[^A-Za-z0-9_.\-/ ]", "_", str(text))


def validation_mlflow_batch(report):
    """Params, metrics and tags of the report's MLflow run: every figure, every check's status."""
    settings = report.get("settings") or {}
    nodes = report.get("nodes") or []
    params = {
        "cluster": report.get("cluster"),
        "entry": report.get("entry"),
        "nodes": ",".join(n["name"] for n in nodes),
        "node_count": len(nodes),
    }
    for name in (
        "fabric_provider",
        "pingpong_endpoint",
        "pingpong_iterations",
        "nixl_backend",
        "nixl_size_mib",
        "nixl_iterations",
        "nccl_size_mib",
    ):
        if settings.get(name) is not None:
            params["setting." + name] = settings[name]
    for node in nodes:
        for name in ("instance_type", "libfabric_version", "efa_installer_version", "cuda_version", "nixl_version"):
            if node.get(name):
                params[_key(f"node.{node['name']}.{name}")] = node[name]
    summary = report["summary"]
    metrics = {f"checks.{s}": float(summary[s]) for s in STATUSES}
    tags = {"validation.status": summary["status"], "validation.schema": report.get("schema")}
    for check in report["checks"]:
        key = check["id"] + (f".{check['node']}" if check.get("node") else "")
        tags[_key("check." + key)] = check["status"]
        for name, value in (check.get("figures") or {}).items():
            if isinstance(value, (bool, int, float)):
                metrics[_key(f"{key}.{name}")] = float(value)
        if check["id"] == "fabric.pingpong":
            for row in check["details"].get("sizes") or []:
                metrics[f"fabric.pingpong.mb_per_s.{row['bytes']}"] = row["mb_per_s"]
                metrics[f"fabric.pingpong.usec_per_xfer.{row['bytes']}"] = row["usec_per_xfer"]
    return {
        "params": {k: str(v)[:500] for k, v in params.items()},
        "metrics": metrics,
        "tags": {k: str(v)[:500] for k, v in tags.items()},
    }


class FilterModule:
    """Validation role filters."""

    def filters(self):
        return {
            "validation_pingpong": parse_pingpong,
            "validation_plan": validation_plan,
            "validation_report": validation_report,
            "validation_markdown": validation_markdown,
            "validation_mlflow_batch": validation_mlflow_batch,
            "validation_check_line": validation_check_line,
        }
