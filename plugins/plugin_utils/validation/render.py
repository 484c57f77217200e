# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The report's renderings: Markdown, one line per check, and the MLflow batch."""

import re
import urllib.parse

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import STATUSES

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
        f"{summary['skipped']} skipped of {summary['checks']} checks"
        + (f", {summary['warnings']} warning(s)" if summary.get("warnings") else ""),
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
    warned = [c for c in report["checks"] if c.get("warnings")]
    if warned:
        lines += ["", "## Warnings: floors missed", ""]
        lines += [
            "A warning does not fail its check: the figure is below what it should reach, for the reason given.",
            "",
        ]
        for check in warned:
            lines += [f"- `{check['id']}`: {_md(text)}" for text in check["warnings"]]
    lines += _figures_md(report)
    lines += _plots_md(report)
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


_PAIR_FIGURES = {
    "fabric.pingpong": (
        ("largest_mb_per_s", "MB/s at the largest size"),
        ("smallest_usec_per_xfer", "usec/xfer at the smallest"),
    ),
    "nixl.transfer": (
        ("gbps", "GB/s"),
        ("gbps_first", "first transfer GB/s"),
        ("tcp_gbps", "plain TCP GB/s"),
        ("share_of_tcp", "NIXL / TCP"),
        ("shm_gbps", "UCX shm GB/s"),
        ("shm_share_of_memcpy", "shm / memcpy"),
    ),
}

_YARDSTICK_LABEL = {"met": "met", "missed": "**MISSED**", "skipped": "skip"}


def _percent(value):
    return "-" if value is None else f"{value * 100:.1f} %"


def _yardsticks_md(check):
    """The NIXL check's yardsticks: each floor, whether the pairs met it, and why the floor is there."""
    yardsticks = (check.get("details") or {}).get("yardsticks") or []
    if not yardsticks:
        return []
    lines = [
        "",
        "## NIXL yardsticks: the same buffer through a plain copy",
        "",
        "| Yardstick | Floor | Lowest | Status | Result | Why this floor |",
        "|---|---:|---:|---|---|---|",
    ]
    for y in yardsticks:
        floor = f"{_percent(y['threshold'])} (`{y['setting']}`)" if y.get("threshold") is not None else "-"
        lowest = _percent(y.get("value")) + (f" ({y['pair']})" if y.get("pair") else "")
        lines.append(
            f"| {_md(y['title'])} | {_md(floor)} | {_md(lowest)} | {_YARDSTICK_LABEL[y['status']]} | "
            f"{_md(y['reason'])} | {_md(y['why'])} |"
        )
    return lines


def _pairs_md(check):
    """A check around the ring as a table: one row per pair, the slowest marked, the nodes left out."""
    details = check.get("details") or {}
    pairs = details.get("pairs") or []
    left_out = details.get("left_out") or []
    if not pairs and not left_out:
        return []
    columns = _PAIR_FIGURES[check["id"]]
    lines = [
        "",
        f"## {check['title']}: {len(pairs)} pair(s), slowest {details.get('slowest') or '-'}",
        "",
        "| Pair | Status | " + " | ".join(column[1] for column in columns) + " | Result |",
        "|---|---|" + "---:|" * len(columns) + "---|",
    ]
    for row in pairs:
        values = [
            _percent(row["figures"].get(name)) if "share_of" in name else row["figures"].get(name)
            for name in (column[0] for column in columns)
        ]
        name = row["pair"] + (" (slowest)" if row["pair"] == details.get("slowest") and len(pairs) > 1 else "")
        lines.append(
            f"| {_md(name)} | {_LABEL[row['status']]} | "
            + " | ".join(_md(v) for v in values)
            + f" | {_md(row['reason'])} |"
        )
    for node in left_out:
        blank = " | ".join(["-"] * len(columns))
        lines.append(f"| {_md(node['node'])} (left out) | {_LABEL['skipped']} | {blank} | {_md(node['reason'])} |")
    return lines


def _figures_md(report):
    by_id = {c["id"]: c for c in report["checks"] if c.get("node") is None}
    lines = []
    for check_id in ("fabric.pingpong", "nixl.transfer"):
        if by_id.get(check_id) and by_id[check_id]["status"] != "skipped":
            lines += _pairs_md(by_id[check_id])
    if by_id.get("nixl.transfer"):
        lines += _yardsticks_md(by_id["nixl.transfer"])
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
                f"; {f['share_of_tcp']:.1%} of a plain TCP copy of the same buffer between the same nodes "
                f"({f['tcp_gbps']} GB/s, best {f.get('tcp_gbps_best')} GB/s)"
                if f.get("tcp_gbps") is not None and f.get("share_of_tcp") is not None
                else ""
            )
            + (
                f"; {f['share_of_memcpy']:.1%} of a plain memory copy of the same buffer on "
                f"{(nixl['details'].get('initiator') or {}).get('node')} ({f['memcpy_gbps']} GB/s, "
                f"best {f.get('memcpy_gbps_best')} GB/s)"
                if f.get("memcpy_gbps") is not None and f.get("share_of_memcpy") is not None
                else ""
            )
            + (
                f"; NIXL through UCX shared memory on that node {f['shm_gbps']} GB/s "
                f"(best {f.get('shm_gbps_best')} GB/s), {f['shm_share_of_memcpy']:.1%} of a memory copy timed "
                f"in turn with it ({f.get('shm_memcpy_gbps', f.get('memcpy_gbps'))} GB/s)"
                if f.get("shm_gbps") is not None and f.get("shm_share_of_memcpy") is not None
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


def _uploaded_plots(report):
    """The artifact paths the MLflow report check says the run received ([] when it did not say so)."""
    check = next((c for c in report["checks"] if c["id"] == "mlflow.report"), None)
    if not check or check["status"] != "passed":
        return []
    return [a["path"] for a in (check.get("details") or {}).get("artifacts") or [] if a.get("listed")]


def _plots_md(report):
    """The plots beside the report (relative links), where they are in MLflow, and why the others are missing."""
    plots = report.get("plots")
    if not isinstance(plots, dict):
        return []
    lines = ["", "## Plots", ""]
    files = plots.get("files") or []
    uploaded = set(_uploaded_plots(report))
    if plots.get("unavailable"):
        lines += [f"Plots skipped: {_md(plots['unavailable'])}.", ""]
    elif files:
        where = "The PNG files are beside this report"
        run = (report.get("mlflow") or {}).get("run_id")
        if uploaded and run:
            folders = sorted({a.rsplit("/", 1)[0] for a in uploaded})
            where += f", and in the MLflow run `{run}` as artifacts under `" + "`, `".join(folders) + "/`"
        lines += [where + ".", ""]
    for plot in files:
        lines += [f"### {plot['title']}", "", f"![{_md(plot['title'])}]({urllib.parse.quote(plot['file'])})", ""]
    not_drawn = [s for s in plots.get("not_drawn") or [] if s.get("reason") != plots.get("unavailable")]
    if not_drawn:
        lines += ["Not drawn:", ""] + [f"- {s['title']}: {_md(s['reason'])}" for s in not_drawn] + [""]
    while lines[-1] == "":
        lines.pop()
    return lines


def validation_check_line(check):
    """One line for a check: "FAIL fabric.pingpong (val-0, val-1): reason"."""
    where = check.get("node") or ", ".join(check.get("nodes") or [])
    label = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}.get(check.get("status"), "?")
    line = f"{label} {check.get('id')}" + (f" ({where})" if where else "") + f": {check.get('reason')}"
    warnings = check.get("warnings") or []
    if warnings:
        line += f" [{len(warnings)} warning(s): " + " | ".join(warnings) + "]"
    return line


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
        "nixl_min_share_of_tcp",
        "nixl_efa_min_share_of_tcp",
        "nixl_shm_min_share_of_memcpy",
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
    metrics["checks.warnings"] = float(summary.get("warnings") or 0)
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
        if check["id"] in _PAIR_FIGURES and check.get("details", {}).get("pairs"):
            # One row per pair: its headline figures and whether it passed; the slowest pair named.
            for row in check["details"]["pairs"]:
                prefix = f"{check['id']}.pair.{row['key']}"
                metrics[_key(f"{prefix}.passed")] = 1.0 if row["status"] == "passed" else 0.0
                for name in (column[0] for column in _PAIR_FIGURES[check["id"]]):
                    value = row["figures"].get(name)
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        metrics[_key(f"{prefix}.{name}")] = float(value)
            if check["details"].get("slowest"):
                tags[_key(f"{check['id']}.slowest_pair")] = check["details"]["slowest"]
        for yardstick in (check.get("details") or {}).get("yardsticks") or []:
            tags[_key(f"{check['id']}.yardstick.{yardstick['id']}")] = yardstick["status"]
    return {
        "params": {k: str(v)[:500] for k, v in params.items()},
        "metrics": metrics,
        "tags": {k: str(v)[:500] for k, v in tags.items()},
    }
