# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which checks between nodes run, on which nodes, and why the others do not."""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import nccl_command
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import nixl_command
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import nixl_tcp_port
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import pingpong_argv
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import ring_port
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import as_dict
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import fi_info_ok
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import is_selected
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import node_fact
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import node_info_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import probe_ok
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import skip_reason
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import sorted_nodes

# --- plan ----------------------------------------------------------------------------------


def _skipped(reason, **extra):
    return dict(extra, status="skipped", reason=reason)


def _failed(reason, kind, **context):
    return {"status": "failed", "reason": reason, "kind": kind, "context": context}


def ring(names):
    """The ring's pairs over names, as (first, second) tuples.

    None for fewer than two nodes; one pair for two (a ping-pong tests the link both ways, so a second
    pair would only double the cost); for three or more, node i with node i+1 (mod N): each node is
    the first of one pair and the second of the one before.
    """
    names = list(names)
    if len(names) < 2:
        return []
    if len(names) == 2:
        return [(names[0], names[1])]
    return [(names[i], names[(i + 1) % len(names)]) for i in range(len(names))]


def _ring_problem(data, nodes, what):
    """Why a check around the ring cannot run at all, or None."""
    if not is_selected(data, what):
        return "not selected (validation_checks)"
    if len(nodes) < 2:
        return f"needs two nodes in the play, found {len(nodes)}"
    return None


def _node_problem(node):
    """Why a node cannot take part in any check between nodes, or None."""
    if not node.get("reachable", True):
        return f"node {node['name']} is unreachable"
    if not probe_ok(node):
        return f"the probe of node {node['name']} failed"
    return None


def _take_part(nodes, problem_of):
    """(the nodes that take part, [{node, reason}] for each node left out)."""
    taking, left_out = [], []
    for node in nodes:
        reason = _node_problem(node) or problem_of(node)
        if reason:
            left_out.append({"node": node["name"], "reason": reason})
        else:
            taking.append(node)
    return taking, left_out


def _ring_entry(taking, left_out):
    """What the checks around the ring share: the nodes taking part, and who is left out and why."""
    reason = "; ".join(f"{n['node']} left out: {n['reason']}" for n in left_out)
    return {"status": "run", "reason": reason, "nodes": [n["name"] for n in taking], "left_out": left_out}


def _too_few(left_out):
    return _skipped("; ".join(n["reason"] for n in left_out) or "needs two nodes that can take part")


def _forks_problem(data, count):
    """Why a check between count nodes cannot run with the play's forks, or None.

    Each node runs its part in one task, waiting on the node for its partners: every node of the
    check must run that task at once, and Ansible starts a task on `forks` hosts at a time.
    """
    forks = data.get("forks")
    if forks in (None, "") or int(forks) >= count:
        return None
    return (
        f"needs its {count} nodes at once, but forks is {int(forks)} (Ansible runs a task on {int(forks)} hosts at "
        f"a time): set forks to {count} or more"
    )


def _plan_pingpong(data, nodes, settings):
    """fi_pingpong around the ring: the first node of each pair serves, the second connects to it."""
    problem = _ring_problem(data, nodes, "pingpong")
    if problem:
        return _skipped(problem)
    provider = settings.get("fabric_provider", "efa")

    def fi_info_problem(node):
        return None if fi_info_ok(node) else f"fi_info -p {provider} failed on {node['name']} (see that check)"

    taking, left_out = _take_part(nodes, fi_info_problem)
    if len(taking) < 2:
        return _too_few(left_out)
    if _forks_problem(data, len(taking)):
        return _skipped(_forks_problem(data, len(taking)))
    ips = {n["name"]: n["private_ip"] for n in taking}
    position = {name: i for i, name in enumerate(ips)}
    pairs = [
        {
            "server": s,
            "client": c,
            "server_ip": ips[s],
            "port": ring_port(settings, "pingpong_port", position[s], 47592),
        }
        for s, c in ring(ips)
    ]
    per_node = {name: {} for name in ips}
    for pair in pairs:
        at = position[pair["server"]]
        per_node[pair["server"]].update(client=pair["client"], server_argv=pingpong_argv(settings, "server", "", at))
        per_node[pair["client"]].update(
            server=pair["server"], client_argv=pingpong_argv(settings, "client", pair["server_ip"], at)
        )
    return dict(
        _ring_entry(taking, left_out),
        server=pairs[0]["server"],
        client=pairs[0]["client"],
        server_ip=pairs[0]["server_ip"],
        pairs=pairs,
        servers=[p["server"] for p in pairs],
        clients=[p["client"] for p in pairs],
        node=per_node,
    )


def validation_plan(data):
    """Decide which checks between nodes run, on which nodes, and why the others do not.

    data: entry (main or efa), checks (selected names), nodes (per node: name, node_index, private_ip,
    groups, reachable, node_info, probe), settings, mlflow_url (explicit), mlflow_hosts (group
    mlflow), mlflow_fact_urls ({host: url} of the nixl_efa_mlflow facts the controller knows), forks
    (Ansible's; the checks between nodes are skipped when fewer than their nodes, absent: not judged).

    Returns {nodes, pingpong, nixl, nccl, mlflow, vllm}; each check entry has status (run,
    skipped or failed) and reason, and when it runs what the tasks need.
    """
    nodes = sorted_nodes(data)
    settings = as_dict(data.get("settings"))
    plan = {"nodes": [n["name"] for n in nodes]}

    plan["pingpong"] = _plan_pingpong(data, nodes, settings)
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
    """NIXL around the ring: the first node of each pair writes into the second's buffer."""
    problem = _ring_problem(data, nodes, "nixl")
    if problem:
        return _skipped(problem)
    backend = settings.get("nixl_backend", "LIBFABRIC")
    for node in nodes:
        # A node the nixl role should have set up but did not: a failure, not a node left out.
        if _node_problem(node) is None and not node_fact(node, "nixl_efa_nixl"):
            name = node["name"]
            return _failed(f"NIXL is not installed on {name} (no nixl_efa_nixl fact)", "nixl_missing", node=name)

    def backend_problem(node):
        state = as_dict(as_dict(node_fact(node, "nixl_efa_nixl").get("backends")).get(backend))
        if not state:
            return f"backend {backend} was not probed on {node['name']} (add it to the nixl role's nixl_backends)"
        if not state.get("loadable"):
            return f"backend {backend} is not loadable on {node['name']}: {state.get('error')}"
        return None

    taking, left_out = _take_part(nodes, backend_problem)
    if len(taking) < 2:
        return _too_few(left_out)
    if _forks_problem(data, len(taking)):
        return _skipped(_forks_problem(data, len(taking)))
    ips = {n["name"]: n["private_ip"] for n in taking}
    per_node = {}
    for node in taking:
        fact = node_fact(node, "nixl_efa_nixl")
        per_node[node["name"]] = {
            "python": fact.get("python") or "python3",
            "module": fact.get("module") or "nixl_cu12",
            "env_file": fact.get("env_file") or "",
            "version": fact.get("version"),
        }
    stamp = data.get("stamp") or ""
    position = {name: i for i, name in enumerate(ips)}
    pairs = [
        {"initiator": i, "target": t, "target_ip": ips[t], "port": ring_port(settings, "nixl_port", position[t], 47594),
         "tcp_port": nixl_tcp_port(settings, position[t])}
        for i, t in ring(ips)
    ]  # fmt: skip
    for pair in pairs:
        at = position[pair["target"]]
        target = per_node[pair["target"]]
        target.update(
            initiator=pair["initiator"], target_cmd=nixl_command(settings, target, backend, stamp, "target", "", at)
        )
        initiator = per_node[pair["initiator"]]
        initiator.update(
            target=pair["target"],
            initiator_cmd=nixl_command(settings, initiator, backend, stamp, "initiator", pair["target_ip"], at),
        )
    return dict(
        _ring_entry(taking, left_out),
        initiator=pairs[0]["initiator"],
        target=pairs[0]["target"],
        target_ip=pairs[0]["target_ip"],
        backend=backend,
        pairs=pairs,
        initiators=[p["initiator"] for p in pairs],
        targets=[p["target"] for p in pairs],
        node=per_node,
    )


def _plan_nccl(data, nodes):
    if not is_selected(data, "nccl"):
        return _skipped("not selected (validation_checks)")
    if len(nodes) < 2:
        return _skipped(f"needs two nodes in the play, found {len(nodes)}")
    settings = as_dict(data.get("settings"))
    # gloo runs on CPUs: a way to try the launch where there is no GPU, never a GPU measurement.
    cpu_only = settings.get("nccl_backend") == "gloo"
    per_node_setting = int(settings.get("nccl_gpus_per_node") or 0)
    per_node = {}
    for node in nodes:
        name = node["name"]
        if not node.get("reachable", True):
            return _skipped(f"node {name} is unreachable")
        gpus = int(as_dict(as_dict(node_info_of(node)).get("gpu")).get("count") or 0)
        fact = node_fact(node, "nixl_efa_nccl")
        if not cpu_only:
            if fact is not None and not fact.get("gpu"):
                why = skip_reason(fact.get("reason"), "no GPU")
                return _skipped(f"no GPU on {name}" + ("" if why.lower() == "no gpu" else f" ({why})"))
            if fact is None:
                if gpus == 0:
                    return _skipped(f"no GPU on {name}")
                return _failed(f"{name} has {gpus} GPUs but no nixl_efa_nccl fact", "nccl_missing", node=name)
            gpus = int(fact.get("gpus") or gpus)
        torchrun = as_dict(node.get("probe")).get("torchrun")
        if not torchrun:
            return _failed(f"torchrun not found on {name}", "nccl_torchrun", node=name)
        per_node[name] = {
            "procs": per_node_setting or (1 if cpu_only else gpus),
            "torchrun": torchrun,
            "python": as_dict(node.get("probe")).get("torchrun_python") or torchrun.rsplit("/", 1)[0] + "/python3",
            "env_file": as_dict(fact).get("env_file") or "",
        }
    if _forks_problem(data, len(nodes)):
        return _skipped(_forks_problem(data, len(nodes)))
    master = nodes[0]
    for node in nodes:
        entry = per_node[node["name"]]
        entry["cmd"] = nccl_command(
            settings,
            entry,
            master["private_ip"],
            len(nodes),
            node is master,
            node["private_ip"],
            data.get("stamp") or "",
        )
    return {
        "status": "run",
        "reason": "",
        "backend": "gloo" if cpu_only else "nccl",
        "master": master["name"],
        "master_ip": master["private_ip"],
        "nnodes": len(nodes),
        "node": per_node,
        "nodes": [n["name"] for n in nodes],
    }


def _plan_mlflow(data, nodes):
    if not is_selected(data, "mlflow"):
        return _skipped("not selected (validation_checks)")
    if not nodes:
        return _skipped("no nodes in the play")
    url = data.get("mlflow_url") or ""
    hosts = list(data.get("mlflow_hosts") or [])
    if not url:
        urls = {k: v for k, v in as_dict(data.get("mlflow_fact_urls")).items() if v}
        for node in nodes:
            fact = node_fact(node, "nixl_efa_mlflow")
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
    if not is_selected(data, "vllm"):
        return _skipped("not selected (validation_checks)")
    facts = [(n, node_fact(n, "nixl_efa_vllm")) for n in nodes if n.get("reachable", True)]
    facts = [(n, f) for n, f in facts if f is not None]
    if not facts:
        return _skipped("no node has a nixl_efa_vllm fact (the vllm role was not applied)")
    serving = [f for n, f in facts if f.get("serving")]
    if not serving:
        node, fact = facts[0]
        return _skipped(f"vLLM is not serving ({node['name']}: {skip_reason(fact.get('reason'), 'no reason given')})")
    # The single (plain) server is a unit on a prefill host: that host runs the check, to start and stop it.
    single = next(((n, f) for n, f in facts if f.get("serving") and f.get("single_unit")), None)
    runner = single[0]["name"] if single else nodes[0]["name"]
    plan = {"status": "run", "reason": "", "runner": runner, "nodes": [runner]}
    for key in ("prefill_url", "decode_url", "proxy_url", "model", "release"):
        plan[key] = next((f[key] for f in serving if f.get(key)), "")
    plan["single_url"] = single[1]["single_url"] if single else ""
    plan["single_unit"] = single[1]["single_unit"] if single else ""
    return plan
