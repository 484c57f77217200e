# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The NIXL transfer's yardsticks: NIXL against a plain copy of the same buffer, judged against floors.

Two yardsticks per pair of the ring, from the transfer script's answers (files/nixl_transfer.py):

- nixl_vs_tcp: NIXL's GB/s between the two nodes as a share of a plain TCP copy of the same buffer
  between the same two nodes (share_of_tcp). The floor depends on the path NIXL's bytes take: over
  TCP (UCX, or LIBFABRIC on a provider other than efa) both move the same bytes through the same
  kernel sockets; over EFA (LIBFABRIC with the efa provider) RDMA should leave one TCP stream far
  behind.
- shm_vs_memcpy: NIXL through UCX's shared-memory transports between two agents on the initiator's
  node as a share of a plain memory copy there (shm_share_of_memcpy), the copy timed in turn with the
  transfers (shm_memcpy_gbps; answers without it: the initiator's earlier memory copy, memcpy_gbps).

Each is met, missed (a warning with the floor's reason; the check's status does not change) or
skipped with the reason it did not run: never met without a figure. The floors are role settings
(validation_nixl_*); a floor that is not in the settings judges nothing, and says so.
"""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import as_dict

YARDSTICK_STATUSES = ("met", "missed", "skipped")

_WHY_TCP = (
    "NIXL's {backend} backend moves the bytes through the same kernel TCP sockets as the plain copy, between "
    "the same two nodes, so what it loses below this share is NIXL's and UCX's own cost (their protocol, "
    "progress threads and registration), not the network's"
)
_WHY_EFA = (
    "over EFA the LIBFABRIC backend moves the bytes by RDMA, with no kernel copy, and is not held to the 5 Gbps "
    "(10 Gbps in a cluster placement group) that AWS allows one TCP flow between two instances, while one EFA "
    "device carries 100 Gbps or more on p4d and p5: below this multiple of a plain TCP copy the bytes are likely "
    "not on the fabric (another libfabric provider, a fallback path, one throttled device)"
)
_WHY_SHM = (
    "UCX's shared-memory transports copy the buffer between the two agents once (cma, process_vm_writev) or twice "
    "(through a shared segment), each at memory speed, so below this share of a plain memory copy NIXL or UCX "
    "spends the time elsewhere than in moving the bytes"
)


def nixl_path(settings):
    """How NIXL's bytes travel between the nodes: efa (LIBFABRIC on the efa provider) or tcp (the rest).

    UCX is taken as TCP: it is how it runs in the lab (UCX_TLS=tcp) and on AWS without an EFA transport of
    its own; where it does find one it only clears the TCP floor more easily.
    """
    backend = str(settings.get("nixl_backend") or "")
    provider = str(settings.get("fabric_provider") or "efa")
    return "efa" if backend == "LIBFABRIC" and provider == "efa" else "tcp"


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _share(answer, name, part, whole):
    """answer[name], or part / whole from the answer's figures when it lacks it; None without both."""
    value = _number(answer.get(name))
    if value is not None:
        return value
    part, whole = _number(answer.get(part)), _number(answer.get(whole))
    return round(part / whole, 4) if part is not None and whole else None


def _percent(value):
    return f"{value * 100:.1f} %"


def _errors(*sides):
    """'initiator: error; target: error' from (side, text) pairs, the empty ones left out."""
    return "; ".join(f"{side}: {text}" for side, text in sides if text)


def _judge(base, value, skipped):
    """The yardstick base with its status and reason: skipped (no figure or no floor), met or missed."""
    threshold = base["threshold"]
    if value is None:
        return dict(base, value=None, status="skipped", reason="skipped: " + skipped)
    if threshold is None:
        reason = f"skipped: no floor ({base['setting']} is not in the settings); measured {_percent(value)}"
        return dict(base, value=value, status="skipped", reason=reason)
    status = "met" if value >= threshold else "missed"
    return dict(base, value=value, status=status)


def _floor(settings, name):
    value = settings.get(name)
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def nixl_vs_tcp(pair, initiator, target, settings):
    """NIXL between the pair's nodes against a plain TCP copy of the same buffer between them."""
    path = nixl_path(settings)
    backend = pair.get("backend") or settings.get("nixl_backend")
    key = "nixl_efa_min_share_of_tcp" if path == "efa" else "nixl_min_share_of_tcp"
    base = {
        "id": "nixl_vs_tcp",
        "title": f"NIXL over {'EFA' if path == 'efa' else 'TCP'} ({backend}) against a plain TCP copy of the same "
        f"buffer, {pair['initiator']} -> {pair['target']}",
        "path": path,
        "figure": "share_of_tcp",
        "setting": "validation_" + key,
        "threshold": _floor(settings, key),
        "why": (_WHY_EFA if path == "efa" else _WHY_TCP).format(backend=backend),
    }
    nixl = _number(initiator.get("gbps"))
    tcp = _number(initiator.get("tcp_gbps"))
    if nixl is None:
        return _judge(base, None, "the NIXL transfer gave no figure")
    if target.get("tcp_match") is False:
        return _judge(base, None, "the plain TCP copy's bytes differ from the pattern on the target")
    if not tcp:
        errors = _errors(("target", target.get("tcp_error")), ("initiator", initiator.get("tcp_error")))
        return _judge(base, None, errors or "the transfer script reported no plain TCP copy")
    judged = _judge(base, _share(initiator, "share_of_tcp", "gbps", "tcp_gbps"), "")
    if judged["status"] == "skipped":
        return judged
    floor = f"the {_percent(judged['threshold'])} floor"
    said = f"NIXL {nixl} GB/s, {_percent(judged['value'])} of a plain TCP copy ({tcp} GB/s)"
    judged["reason"] = f"{said}, below {floor}" if judged["status"] == "missed" else f"{said}; {floor} met"
    return judged


def shm_vs_memcpy(pair, initiator, settings):
    """NIXL through UCX shared memory on the initiator's node against a memory copy there."""
    base = {
        "id": "shm_vs_memcpy",
        "title": f"NIXL through UCX shared memory ({initiator.get('shm_tls') or 'shm'}) against a memory copy, "
        f"on {pair['initiator']}",
        "path": "shm",
        "figure": "shm_share_of_memcpy",
        "setting": "validation_nixl_shm_min_share_of_memcpy",
        "threshold": _floor(settings, "nixl_shm_min_share_of_memcpy"),
        "why": _WHY_SHM,
    }
    shm = _number(initiator.get("shm_gbps"))
    whole = "shm_memcpy_gbps" if _number(initiator.get("shm_memcpy_gbps")) else "memcpy_gbps"
    memcpy = _number(initiator.get(whole))
    if not shm or not memcpy:
        errors = _errors(("shm", initiator.get("shm_error")), ("memcpy", initiator.get("memcpy_error")))
        return _judge(base, None, errors or "the transfer script reported no shared-memory transfer")
    judged = _judge(base, _share(initiator, "shm_share_of_memcpy", "shm_gbps", whole), "")
    if judged["status"] == "skipped":
        return judged
    floor = f"the {_percent(judged['threshold'])} floor"
    said = f"UCX shared memory {shm} GB/s, {_percent(judged['value'])} of a memory copy ({memcpy} GB/s)"
    judged["reason"] = f"{said}, below {floor}" if judged["status"] == "missed" else f"{said}; {floor} met"
    return judged


def pair_yardsticks(pair, initiator, target, settings):
    """Both yardsticks of one pair (initiator and target: the script's answers, {} when missing)."""
    initiator, target, settings = as_dict(initiator), as_dict(target), as_dict(settings)
    return [nixl_vs_tcp(pair, initiator, target, settings), shm_vs_memcpy(pair, initiator, settings)]


def warning_of(yardstick):
    """A missed yardstick as the report's warning line: what was measured, the floor, and why the floor."""
    return f"{yardstick['title']}: {yardstick['reason']}: {yardstick['why']}"


def ring_yardsticks(rows):
    """Each yardstick over the ring's pairs (rows with their yardsticks): missed when one pair missed it,
    skipped when no pair measured it, else met; the lowest share and its pair."""
    by_id = {}
    for row in rows:
        for y in row.get("yardsticks") or []:
            by_id.setdefault(y["id"], []).append((row["pair"], y))
    summary = []
    for ident, entries in by_id.items():
        first = entries[0][1]
        measured = [(pair, y) for pair, y in entries if y["status"] in ("met", "missed")]
        missed = [(pair, y) for pair, y in entries if y["status"] == "missed"]
        skipped = [(pair, y) for pair, y in entries if y["status"] == "skipped"]
        worst = min(measured, key=lambda e: e[1]["value"]) if measured else None
        status = "missed" if missed else ("met" if measured else "skipped")
        if len(entries) == 1:
            reason = first["reason"]
        else:
            parts = [f"{len(measured) - len(missed)} of {len(entries)} pairs met it"]
            parts += [f"{pair} missed: {y['reason']}" for pair, y in missed]
            parts += [f"{pair} {y['reason']}" for pair, y in skipped]
            reason = "; ".join(parts)
        summary.append(
            {
                "id": ident,
                "title": first["title"] if len(entries) == 1 else _ring_title(ident, first),
                "path": first["path"],
                "figure": first["figure"],
                "setting": first["setting"],
                "threshold": first["threshold"],
                "why": first["why"],
                "status": status,
                "reason": reason,
                "value": worst[1]["value"] if worst else None,
                "pair": worst[0] if worst else None,
            }
        )
    return summary


def _ring_title(ident, first):
    if ident == "nixl_vs_tcp":
        return first["title"].rsplit(",", 1)[0] + ", each pair"
    return first["title"].rsplit(", on ", 1)[0] + ", on each initiator's node"
