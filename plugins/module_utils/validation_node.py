# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the validation role reads on a node besides the EFA state: the endpoints `fi_info -p <provider>`
lists, and the torchrun (with the Python that has torch) for the NCCL check.

Used by efa_node_info through node_info.NodeProbe (its file system root, PATH search and command runner),
so that one task reads everything the report needs. Pure parsing is unit tested with samples.
"""

from __future__ import annotations

import os

from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_info

FI_INFO_FIELDS = ("fabric", "domain", "type", "protocol", "version")
ENTRIES_KEPT = 16


def parse_fi_info(text):
    """The entries of `fi_info` output: a list of {provider, fabric, domain, type, protocol}."""
    entries = []
    current = None
    for raw in (text or "").splitlines():
        line = raw.strip()
        if ":" not in line:
            continue
        key, value = (part.strip() for part in line.split(":", 1))
        if key == "provider":
            current = {"provider": value}
            entries.append(current)
        elif current is not None and key in FI_INFO_FIELDS:
            current[key] = value
    return entries


def provider_matches(entry_provider, wanted):
    """`tcp;ofi_rxm` matches tcp (the core provider under a utility provider)."""
    return wanted in str(entry_provider).split(";")


def fi_info_endpoints(probe, provider):
    """`fi_info -p provider` with the fi_info found first in the EFA installer's bin directory."""
    path = probe.which("fi_info", first_dirs=(node_info.EFA_PREFIX + "/bin",))
    result = {"path": path, "provider": provider, "rc": None, "entries": [], "matched": 0, "error": None}
    if not path:
        result["error"] = "fi_info not found (neither in the EFA installer's bin directory nor on PATH)"
        return result
    rc, out, err = probe.command(path, "-p", provider)
    entries = parse_fi_info(out)
    result.update(
        rc=rc,
        entries=entries[:ENTRIES_KEPT],
        entry_count=len(entries),
        matched=sum(1 for e in entries if provider_matches(e["provider"], provider)),
    )
    if rc != 0 or not result["matched"]:
        text = (err or out or "").strip().splitlines()
        result["error"] = " ".join(text[:5]) or f"fi_info -p {provider} exited {rc} with no output"
    return result


def script_interpreter(probe, path):
    """The interpreter named on a script's #! line (an executable, `env NAME` looked up), else None."""
    text = probe.read(path) if path else None
    if not text or not text.startswith("#!"):
        return None
    parts = text[2:].splitlines()[0].split()
    if not parts:
        return None
    if os.path.basename(parts[0]) == "env" and len(parts) > 1:
        return probe.which(parts[1])
    return parts[0] if probe.is_executable(parts[0]) else None


def torchrun(probe, candidates):
    """(torchrun, its Python): the first executable of candidates (paths, or names looked up), else (None, None)."""
    for candidate in candidates:
        if not candidate:
            continue
        path = candidate if "/" in candidate else probe.which(candidate)
        if path and probe.is_executable(path):
            return path, script_interpreter(probe, path)
    return None, None
