# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The checks around the ring of nodes: fi_pingpong and the NIXL transfer, one row per pair.

Each check reads its plan entry (pairs, nodes taking part, nodes left out) and the results of each
pair; it passes when every pair passed, fails when one failed, and its figures (the names MLflow has
always had) are the slowest pair's. Results of the one-pair layout ({server_start, server, client} or
{initiator, target}, without pairs) are read as the first pair's.
"""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.commands import nixl_tcp_port
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import as_dict
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import has_run
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import json_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import make_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import parse_pingpong
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import pingpong_summary
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import planned_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import tail_lines
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import without_keys
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.yardsticks import pair_yardsticks
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.yardsticks import ring_yardsticks
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.yardsticks import warning_of

PINGPONG_TITLE = "fi_pingpong around the ring of nodes (each node to the next)"
NIXL_TITLE = "NIXL transfer around the ring of nodes (each node to the next)"


def pair_label(first, second):
    """How a pair is named in the report: the side that starts the exchange, then its peer."""
    return f"{first} -> {second}"


def pair_key(first, second):
    """How a pair is named in MLflow keys (letters, digits, _ - . / and space)."""
    return f"{first}/{second}"


def _row(first, second, status, reason, figures, details, kind=None, ctx=None, yardsticks=None, series=None):
    """One pair's row; series: what the report's plots draw of it (fi_pingpong's sizes, NIXL's transfer times)."""
    row = {
        "pair": pair_label(first, second),
        "key": pair_key(first, second),
        "nodes": [first, second],
        "status": status,
        "reason": reason,
        "figures": figures or {},
        "details": details,
        "kind": kind,
        "ctx": ctx or {},
    }
    if yardsticks is not None:
        row["yardsticks"] = yardsticks
    if series:
        row.update(series)
    return row


def _pair_results(plan, results):
    """The results of each of the plan's pairs, in the plan's order."""
    pairs = plan.get("pairs") or [plan]
    given = results.get("pairs")
    if given is None:
        given = [results]
    return [(dict(plan, **pair), as_dict(given[i]) if i < len(given) else {}) for i, pair in enumerate(pairs)]


def ring_check(check_id, title, plan, rows, metric):
    """One check from the rows of its pairs: failed when one failed, the slowest pair's figures.

    metric: the figure that orders the pairs (MB/s, GB/s); the pair with its lowest value is the slowest.
    """
    measured = [r for r in rows if isinstance(r["figures"].get(metric), (int, float))]
    slowest = min(measured, key=lambda r: r["figures"][metric]) if measured else None
    failed = [r for r in rows if r["status"] != "passed"]
    head = slowest or (failed or rows)[0]
    left_out = list(plan.get("left_out") or [])
    if len(rows) == 1:
        reason = rows[0]["reason"]
    elif failed:
        reason = f"{len(failed)} of {len(rows)} pairs failed: " + "; ".join(
            f"{r['pair']}: {r['reason']}" for r in failed
        )
    else:
        reason = f"{len(rows)} pairs passed, slowest {slowest['pair']}: {slowest['reason']}"
    if left_out:
        reason += "; left out: " + ", ".join(f"{n['node']} ({n['reason']})" for n in left_out)
    figures = dict(head["figures"], pairs=len(rows), pairs_passed=len(rows) - len(failed))
    details = dict(
        head["details"],
        pairs=[without_keys(r, "details", "kind", "ctx") for r in rows],
        slowest=slowest["pair"] if slowest else None,
        left_out=left_out,
    )
    # Missed yardsticks are warnings, pair by pair; they do not change the check's status.
    warnings = [warning_of(y) for r in rows for y in r.get("yardsticks") or [] if y["status"] == "missed"]
    if any("yardsticks" in r for r in rows):
        details["yardsticks"] = ring_yardsticks(rows)
    status = "failed" if failed else "passed"
    return make_check(
        check_id,
        title,
        status,
        reason,
        nodes=plan.get("nodes") or [],
        figures=figures,
        details=details,
        kind=failed[0]["kind"] if failed else None,
        ctx=failed[0]["ctx"] if failed else None,
        warnings=warnings,
    )


def pingpong_check(plan, results, settings):
    if plan.get("status") != "run":
        return planned_check("fabric.pingpong", PINGPONG_TITLE, plan)
    rows = [_pingpong_pair(pair, res, settings) for pair, res in _pair_results(plan, results)]
    return ring_check("fabric.pingpong", PINGPONG_TITLE, plan, rows, "largest_mb_per_s")


def nixl_check(plan, results, settings):
    if plan.get("status") != "run":
        return planned_check("nixl.transfer", NIXL_TITLE, plan)
    rows = [_nixl_pair(pair, res, settings) for pair, res in _pair_results(plan, results)]
    return ring_check("nixl.transfer", NIXL_TITLE, plan, rows, "gbps")


# --- one pair ------------------------------------------------------------------------------


def _pingpong_pair(plan, results, settings):
    """One pair's fi_pingpong: plan {server, client, server_ip}, results {server_start, server, client}."""
    provider = settings.get("fabric_provider", "efa")
    port = settings.get("pingpong_port")
    client = as_dict(results.get("client"))
    server = as_dict(results.get("server"))
    server_start = as_dict(results.get("server_start"))
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
            "stderr": tail_lines(server_text),
        },
        "client": {
            "node": plan["client"],
            "rc": client.get("rc"),
            "attempts": client.get("attempts"),
            "stderr": tail_lines(client.get("stderr")),
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
        return _row(plan["client"], plan["server"], "passed", reason, summary, details, series={"sizes": rows})
    text = "\n".join(str(x or "") for x in (client.get("stderr"), client.get("stdout"), client.get("msg")))
    if not has_run(client):
        kind, reason = "pingpong", "the client did not run"
    elif server.get("finished") and server.get("rc") not in (0, None) and not server_rows:
        kind = "pingpong_server"
        said = " ".join(tail_lines(server_text, 2)) or "no output"
        reason = f"the server on {plan['server']} exited {server.get('rc')}: {said}"
    elif "fi_getinfo" in text:
        kind, reason = "pingpong_provider", f"fi_getinfo failed: {' '.join(tail_lines(text, 2))}"
    elif client.get("rc") == 111 or "Connection refused" in text or "failed to connect" in text:
        kind, reason = "pingpong_refused", f"connection to {plan['server_ip']} port {port} refused"
    elif client.get("rc") in (124, 137):
        timeout = settings.get("pingpong_timeout")
        kind, reason = "pingpong_timeout", f"timed out after {timeout} s with {len(rows)} message size(s) done"
    elif rows and not complete:
        kind, reason = "pingpong_timeout", "messages were lost (fewer acknowledged than sent)"
    else:
        kind, reason = (
            "pingpong",
            f"the client exited {client.get('rc')}: {' '.join(tail_lines(text, 2)) or 'no output'}",
        )
    ctx = {"server": f"{plan['server']} ({plan['server_ip']})", "port": port, "provider": provider}
    return _row(plan["client"], plan["server"], "failed", reason, summary, details, kind, ctx, series={"sizes": rows})


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _yardstick_figures(initiator):
    """The initiator's yardsticks of the same buffer, and the shares, as figures.

    A plain memory copy on the initiator's node (memcpy_gbps, share_of_memcpy: NIXL's GB/s as a share of
    it), a plain TCP copy to the target (tcp_gbps, share_of_tcp) and NIXL through UCX shared memory on
    the initiator's node (shm_gbps, shm_share_of_memcpy against the memory copy timed in turn with it,
    shm_memcpy_gbps). Answers of older transfer scripts lack some:
    then those are left out, never made up.
    """
    figures = {}
    for measure, best, shares in (
        ("memcpy_gbps", "memcpy_gbps_best", (("share_of_memcpy", "gbps"),)),
        ("tcp_gbps", "tcp_gbps_best", (("share_of_tcp", "gbps"),)),
        ("shm_gbps", "shm_gbps_best", ()),
    ):
        value = _number(initiator.get(measure))
        if value is None or value <= 0:
            continue
        figures[measure] = value
        if _number(initiator.get(best)) is not None:
            figures[best] = initiator[best]
        for name, part in shares:
            given = _number(initiator.get(name))
            if given is None and _number(initiator.get(part)) is not None:
                given = round(initiator[part] / value, 4)
            if given is not None:
                figures[name] = given
    if figures.get("shm_gbps"):
        # Against the memory copy timed in turn with the transfers; older answers: the earlier one.
        memcpy = _number(initiator.get("shm_memcpy_gbps"))
        if memcpy and memcpy > 0:
            figures["shm_memcpy_gbps"] = memcpy
        memcpy = memcpy or figures.get("memcpy_gbps")
        given = _number(initiator.get("shm_share_of_memcpy"))
        if given is None and memcpy:
            given = round(figures["shm_gbps"] / memcpy, 4)
        if given is not None:
            figures["shm_share_of_memcpy"] = given
    return figures


# The initiator's per-transfer times, by what moved the buffer: NIXL, the plain TCP copy, NIXL through UCX
# shared memory and the memory copy (the answer's lists of seconds).
TRANSFER_SECONDS = (("nixl", "seconds"), ("tcp", "tcp_seconds"), ("shm", "shm_seconds"), ("memcpy", "memcpy_seconds"))


def _transfer_seconds(initiator, size_mib):
    """{bytes, nixl, tcp, shm, memcpy}: the buffer's size and each transfer's seconds, for the report's plots; only
    the lists the answer has, each of positive numbers."""
    found = {}
    for name, key in TRANSFER_SECONDS:
        values = initiator.get(key)
        if isinstance(values, list) and values and all(_number(v) is not None and v > 0 for v in values):
            found[name] = values
    try:
        size = int(size_mib)
    except (TypeError, ValueError):
        return {}
    return dict(found, bytes=size * 2**20) if found and size > 0 else {}


def _nixl_pair(plan, results, settings):
    """One pair's NIXL transfer: plan {initiator, target, target_ip, backend, node}, results {initiator, target}."""
    initiator_reg = as_dict(results.get("initiator"))
    target_reg = as_dict(results.get("target"))
    initiator = json_line(initiator_reg.get("stdout")) or {}
    target = json_line(target_reg.get("stdout")) or {}
    size = settings.get("nixl_size_mib")
    details = {
        "backend": plan["backend"],
        "tcp_port": plan.get("tcp_port") or nixl_tcp_port(settings),
        "initiator": dict(
            without_keys(initiator, "traceback"),
            node=plan["initiator"],
            rc=initiator_reg.get("rc"),
            stderr=tail_lines(initiator_reg.get("stderr"), 4),
        ),
        "target": dict(
            without_keys(target, "traceback"),
            node=plan["target"],
            rc=target_reg.get("rc"),
            finished=bool(target_reg.get("finished")),
            stderr=tail_lines(target_reg.get("stderr"), 4),
        ),
        "tracebacks": {
            k: v["traceback"] for k, v in (("initiator", initiator), ("target", target)) if v.get("traceback")
        },
        "versions": {
            n: as_dict(as_dict(plan.get("node")).get(n)).get("version") for n in (plan["initiator"], plan["target"])
        },
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
        figures.update(_yardstick_figures(initiator))
    if target.get("phase") == "done":
        figures["bytes_match"] = bool(target.get("match"))
    yardsticks = pair_yardsticks(plan, initiator, target, settings)
    series = {"transfers": _transfer_seconds(initiator, size)}
    match = bool(target.get("match")) and target.get("sha256") == initiator.get("sha256")
    if initiator.get("ok") and target.get("ok") and match:
        reason = (
            f"{plan['initiator']} -> {plan['target']} with {plan['backend']}, "
            f"{size} MiB x {initiator.get('iterations')}: "
            f"{initiator['gbps']:.3f} GB/s (first transfer {initiator.get('gbps_first') or 0:.3f} GB/s), bytes match "
            f"(sha256 {str(target.get('sha256'))[:16]})"
        )
        return _row(
            plan["initiator"], plan["target"], "passed", reason, figures, details, yardsticks=yardsticks, series=series
        )
    errors = "; ".join(
        f"{side}: {r['error']}" for side, r in (("initiator", initiator), ("target", target)) if r.get("error")
    )
    phases = {initiator.get("phase"), target.get("phase")}
    if target.get("phase") == "done" and not target.get("match"):
        kind, reason = "nixl_mismatch", target.get("error") or "the bytes differ"
    elif not initiator and not target:
        text = " ".join(tail_lines(f"{initiator_reg.get('stderr') or ''}\n{initiator_reg.get('msg') or ''}", 2))
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
    return _row(plan["initiator"], plan["target"], "failed", reason, figures, details, kind, ctx, yardsticks, series)
