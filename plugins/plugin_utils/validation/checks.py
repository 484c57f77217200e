# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The checks between nodes and of the services: each reads its plan entry and raw results."""

import re

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import NCCL_MARKER
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import as_dict
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import has_run
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import json_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import last_match
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import make_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import planned_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import tail_lines

_RENDEZVOUS_ERROR = r"Rendezvous\w*Error|DistNetworkError|DistStoreError"
_NCCL_NET_ERROR = r"NET/OFI|aws-ofi-nccl|NCCL WARN|nccl(System|Internal|Remote)Error"


def nccl_check(plan, results, settings):
    backend = plan.get("backend") or settings.get("nccl_backend") or "nccl"
    title = f"{'NCCL' if backend == 'nccl' else backend + ' (CPU, not NCCL)'} all_reduce across the nodes (torchrun)"
    if plan.get("status") != "run":
        return planned_check("nccl.all_reduce", title, plan)
    per_node = {}
    answer = None
    texts = []
    for name in plan["nodes"]:
        reg = as_dict(as_dict(results).get(name))
        per_node[name] = {
            "rc": reg.get("rc"),
            "finished": bool(reg.get("finished")),
            "stderr": tail_lines(reg.get("stderr"), 6),
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
    elif last_match(text, _RENDEZVOUS_ERROR):
        kind, reason = "nccl_rendezvous", "rendezvous failed: " + last_match(text, _RENDEZVOUS_ERROR)
    elif last_match(text, _NCCL_NET_ERROR):
        kind, reason = "nccl_net", "NCCL error: " + last_match(text, _NCCL_NET_ERROR)
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
    write_reg = as_dict(results.get("write"))
    read_reg = as_dict(results.get("read"))
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
        error = (
            write.get("error")
            or " ".join(tail_lines(write_reg.get("stderr") or write_reg.get("msg"), 2))
            or "no answer"
        )
        status = write.get("status")
    elif not has_run(read_reg):
        node, error = plan["reader"], "the read did not run"
    else:
        node = plan["reader"]
        problems = "; ".join(read.get("problems") or [])
        error = (
            read.get("error")
            or problems
            or " ".join(tail_lines(read_reg.get("stderr") or read_reg.get("msg"), 2))
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
    completion = as_dict(answer.get("completion"))
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
    nixl = as_dict(answer.get("nixl"))
    for key in ("transfers", "bytes", "failed"):
        if nixl.get(key) is not None:
            figures["nixl_" + key] = int(nixl[key])
    single = as_dict(as_dict(answer.get("single")).get("completion"))
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
    reg = as_dict(results.get("check"))
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
        or " ".join(tail_lines(reg.get("stderr") or reg.get("msg"), 2))
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
    reg = as_dict(reg)
    if not has_run(reg):
        return make_check(
            "mlflow.report", title, "skipped", "the MLflow write/read check did not pass, so nothing was logged"
        )
    answer = json_line(reg.get("stdout")) or {}
    if answer.get("ok"):
        reason = (
            f"run {answer.get('run_id')}: {answer.get('metrics', 0)} metrics, {answer.get('params', 0)} params, "
            f"{answer.get('tags', 0)} tags, status {answer.get('status')}"
        )
        artifacts = answer.get("artifacts") or []
        if artifacts:
            reason += f"; {len(artifacts)} artifact(s) uploaded and listed: " + ", ".join(a["path"] for a in artifacts)
        return make_check("mlflow.report", title, "passed", reason, nodes=[plan["writer"]], details=answer)
    error = answer.get("error") or " ".join(tail_lines(reg.get("stderr") or reg.get("msg"), 2)) or "no answer"
    if answer.get("artifact_error"):
        kind = "mlflow_artifacts"
    else:
        kind = "mlflow_unreachable" if re.search(r"refused|timed out|gave up", error) else "mlflow"
    ctx = {"node": plan["writer"], "url": plan.get("url"), "port": _url_port(plan.get("url"))}
    return make_check(
        "mlflow.report", title, "failed", error, nodes=[plan["writer"]], details=answer, kind=kind, ctx=ctx
    )
