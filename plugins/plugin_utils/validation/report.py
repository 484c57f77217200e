# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The validation report: every check, in order, from the plan and the raw results."""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.checks import mlflow_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.checks import mlflow_report_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.checks import nccl_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.checks import vllm_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import SCHEMA
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import STATUSES
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import as_dict
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import is_selected
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import json_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import node_fact
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import node_facts
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import node_info_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import sorted_nodes
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.node_checks import node_checks
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.pairs import nixl_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.pairs import pingpong_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plan import validation_plan

# --- report --------------------------------------------------------------------------------


def summary_of(checks):
    """Counts per status, the number of checks, the warnings (floors missed), and the verdict: failed
    when one check failed (warnings never change it)."""
    counts = {status: sum(1 for c in checks if c["status"] == status) for status in STATUSES}
    warnings = sum(len(c.get("warnings") or []) for c in checks)
    return dict(counts, checks=len(checks), warnings=warnings, status="failed" if counts["failed"] else "passed")


def with_mlflow_report(report, plan, result):
    """The report with one more check, whether the report itself was logged into MLflow, counted again.

    plan: validation_plan's answer (its mlflow entry says whether the MLflow check ran and where);
    result: the logging task's result (skipped, or not run, gives a skipped check).
    """
    checks = list(report["checks"])
    checks.append(mlflow_report_check(as_dict(as_dict(plan).get("mlflow")), result, as_dict(report.get("settings"))))
    return dict(report, checks=checks, summary=summary_of(checks))


def with_plots(report, drawn):
    """The report with what validation_plots drew: plots {files, not_drawn, matplotlib, unavailable}.

    drawn: the validation_plots action's result; each file is {id, title, check, file, artifact, bytes,
    sha256, width, height} (its base64 content stays out of the report).
    """
    drawn = as_dict(drawn)
    if not isinstance(drawn.get("plots"), list):
        # The drawing task did not run or failed: say so rather than show no plots without a reason.
        said = drawn.get("msg") or str(drawn.get("exception") or "").strip().rpartition("\n")[2]
        unavailable = f"the plots were not drawn: {said or 'the task did not run'}"
        return dict(report, plots={"files": [], "not_drawn": [], "matplotlib": None, "unavailable": unavailable})
    keys = ("id", "title", "check", "file", "artifact", "bytes", "sha256", "width", "height")
    plots = {
        "files": [{k: p.get(k) for k in keys} for p in drawn["plots"]],
        "not_drawn": [dict(s) for s in drawn.get("not_drawn") or []],
        "matplotlib": drawn.get("matplotlib"),
        "unavailable": drawn.get("unavailable"),
    }
    return dict(report, plots=plots)


# What each node registers, per check: {check: {name in the results: the task's register}}.
REGISTERS = {
    "pingpong": {
        "server_start": "validation__pp_server_job",
        "server": "validation__pp_server",
        "client": "validation__pp_client",
    },
    "nixl": {"target": "validation__nixl_target", "initiator": "validation__nixl_initiator"},
    "nccl": "validation__nccl",
    "mlflow": {"write": "validation__mlflow_write", "read": "validation__mlflow_read"},
    "vllm": {"check": "validation__vllm"},
}


def _registered(hostvars, host, name):
    """A host's register (a task result) by name; {} when the host or the register is missing."""
    try:
        value = hostvars[host][name]
    except (KeyError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def validation_results(plan, hostvars):
    """The raw results of the checks between nodes, gathered from the hosts that ran them.

    plan: validation_plan's answer; hostvars: {host: {register name: task result}} (Ansible's hostvars).
    Returns what validation_report takes as results; a check that did not run has {}.
    """
    plan = as_dict(plan)
    out = {name: {} for name in REGISTERS}
    running = {name: as_dict(plan.get(name)) for name in REGISTERS if as_dict(plan.get(name)).get("status") == "run"}
    if "pingpong" in running:
        reg = REGISTERS["pingpong"]
        out["pingpong"]["pairs"] = [
            {
                "server_start": _registered(hostvars, p["server"], reg["server_start"]),
                "server": _registered(hostvars, p["server"], reg["server"]),
                "client": _registered(hostvars, p["client"], reg["client"]),
            }
            for p in running["pingpong"].get("pairs") or []
        ]
    if "nixl" in running:
        reg = REGISTERS["nixl"]
        out["nixl"]["pairs"] = [
            {
                "target": _registered(hostvars, p["target"], reg["target"]),
                "initiator": _registered(hostvars, p["initiator"], reg["initiator"]),
            }
            for p in running["nixl"].get("pairs") or []
        ]
    if "nccl" in running:
        out["nccl"] = {n: _registered(hostvars, n, REGISTERS["nccl"]) for n in running["nccl"].get("nodes") or []}
    if "mlflow" in running:
        ml = running["mlflow"]
        out["mlflow"] = {
            "write": _registered(hostvars, ml["writer"], REGISTERS["mlflow"]["write"]),
            "read": _registered(hostvars, ml["reader"], REGISTERS["mlflow"]["read"]),
        }
    if "vllm" in running:
        out["vllm"] = {"check": _registered(hostvars, running["vllm"]["runner"], REGISTERS["vllm"]["check"])}
    return out


def validation_report(data):
    """Build the report from the plan and the raw results.

    data: what validation_plan takes, plus plan (its answer; computed when absent), results
    (validation_results' answer: {pingpong: {pairs: [{server_start, server, client}]}, nixl: {pairs:
    [{target, initiator}]}, nccl: {node: result}, mlflow: {write, read}, vllm: {check}}; a check
    around the ring also reads one pair's results without pairs), mlflow_report: result, cluster, started, finished,
    controller. mlflow_report present (even null) adds the check of logging the report itself.
    """
    settings = as_dict(data.get("settings"))
    plan = as_dict(data.get("plan")) or validation_plan(data)
    results = as_dict(data.get("results"))
    nodes = sorted_nodes(data)
    entry = data.get("entry") or "main"
    checks = []
    for node in nodes:
        if is_selected(data, "node") or not node.get("reachable", True):
            checks.extend(node_checks(node, settings))
    checks.append(pingpong_check(as_dict(plan.get("pingpong")), as_dict(results.get("pingpong")), settings))
    if entry != "efa":
        checks.append(nixl_check(as_dict(plan.get("nixl")), as_dict(results.get("nixl")), settings))
        checks.append(nccl_check(as_dict(plan.get("nccl")), as_dict(results.get("nccl")), settings))
        checks.append(mlflow_check(as_dict(plan.get("mlflow")), as_dict(results.get("mlflow")), settings))
        checks.append(vllm_check(as_dict(plan.get("vllm")), as_dict(results.get("vllm")), settings))
        if "mlflow_report" in results:
            checks.append(mlflow_report_check(as_dict(plan.get("mlflow")), results.get("mlflow_report"), settings))
    write = json_line(as_dict(as_dict(results.get("mlflow")).get("write")).get("stdout")) or {}
    return {
        "schema": SCHEMA,
        "entry": entry,
        "cluster": data.get("cluster"),
        "started": data.get("started"),
        "finished": data.get("finished"),
        "controller": data.get("controller"),
        "summary": summary_of(checks),
        "settings": settings,
        "nodes": [_node_summary(n) for n in nodes],
        "checks": checks,
        "mlflow": {
            "url": as_dict(plan.get("mlflow")).get("url"),
            "experiment": settings.get("mlflow_experiment"),
            "experiment_id": write.get("experiment_id"),
            "run_id": write.get("run_id"),
        },
    }


def _node_summary(node):
    info = as_dict(node_info_of(node))
    efa = as_dict(info.get("efa"))
    gpu = as_dict(info.get("gpu"))
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
        "libfabric_version": as_dict(efa.get("libfabric")).get("version"),
        "gpus": gpu.get("count"),
        "gpu_names": sorted({g.get("name") for g in gpu.get("gpus") or [] if g.get("name")}),
        "cuda_version": gpu.get("cuda_version"),
        "nixl_version": as_dict(node_fact(node, "nixl_efa_nixl")).get("version"),
        "facts": sorted(node_facts(node)),
    }
