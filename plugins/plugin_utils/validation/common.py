# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What every part of the validation report shares: the check record, the results' readers, and the
fi_pingpong table parser.

A check is a dict: id, title, node (null for a check between nodes), nodes, status (passed, failed
or skipped), reason (one line), figures (numbers), details, warnings (lines: floors a figure missed,
each with its reason; they do not change the status), and for a failure cause and fix.
"""

import json
import re

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.hints import hint

SCHEMA = "nixl_efa.cluster/validation-report/v1"
CHECK_NAMES = ("node", "pingpong", "nixl", "nccl", "mlflow", "vllm")
NCCL_MARKER = "NIXL_EFA_NCCL_RESULT"
STATUSES = ("passed", "failed", "skipped")


def make_check(
    check_id,
    title,
    status,
    reason,
    node=None,
    nodes=None,
    figures=None,
    details=None,
    kind=None,
    ctx=None,
    warnings=None,
):
    check = {
        "id": check_id,
        "title": title,
        "node": node,
        "nodes": list(nodes if nodes is not None else ([node] if node else [])),
        "status": status,
        "reason": reason,
        "figures": figures or {},
        "details": details or {},
        "warnings": list(warnings or []),
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


def last_match(text, pattern):
    """The last line of text that matches pattern, stripped and cut to 300 characters, else ""."""
    for line in reversed(str(text or "").splitlines()):
        if re.search(pattern, line):
            return line.strip()[:300]
    return ""


def tail_lines(text, lines=8):
    return [line for line in str(text or "").splitlines() if line.strip()][-lines:]


def as_dict(value):
    return value if isinstance(value, dict) else {}


def has_run(reg):
    reg = as_dict(reg)
    return bool(reg) and not reg.get("skipped")


def node_facts(node):
    return as_dict(as_dict(node.get("probe")).get("facts"))


def node_fact(node, name):
    fact = node_facts(node).get(name)
    return fact if isinstance(fact, dict) and "error" not in fact else None


def node_info_of(node):
    info = as_dict(node.get("node_info"))
    return None if not info or info.get("failed") or info.get("skipped") else info


def probe_ok(node):
    probe = as_dict(node.get("probe"))
    return bool(probe) and not probe.get("error")


def sorted_nodes(data):
    nodes = [dict(n) for n in data.get("nodes") or []]
    return sorted(nodes, key=lambda n: (int(n.get("node_index") or 0), n.get("name", "")))


def fi_info_ok(node):
    fi = as_dict(as_dict(node.get("probe")).get("fi_info"))
    return fi.get("rc") == 0 and fi.get("matched", 0) > 0


def is_selected(data, name):
    return name in (data.get("checks") or CHECK_NAMES)


def skip_reason(text, default):
    """A fact's reason without a leading "skipped: " (the roles write "skipped: no GPU")."""
    text = str(text or "").strip()
    return (text[len("skipped:") :].strip() if text.lower().startswith("skipped:") else text) or default


def without_keys(mapping, *keys):
    return {k: v for k, v in as_dict(mapping).items() if k not in keys}
