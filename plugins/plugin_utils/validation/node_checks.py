# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The checks of one node: EFA device, kernel module, /dev/infiniband, GPUs and fi_info."""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import as_dict
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import make_check
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import node_info_of
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import probe_ok

# --- checks --------------------------------------------------------------------------------


def node_checks(node, settings):
    """The checks of one node: EFA device, efa module, /dev/infiniband, GPUs, fi_info -p provider."""
    name = node["name"]
    if not node.get("reachable", True):
        return [make_check("node.reachable", "Node answers", "failed", "no answer", node=name, kind="unreachable")]
    provider = settings.get("fabric_provider", "efa")
    info = node_info_of(node)
    if info is None:
        error = as_dict(node.get("node_info")).get("msg") or "no result"
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

    efa = as_dict(info.get("efa"))
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
    gpu = as_dict(info.get("gpu"))
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
    probe = as_dict(node.get("probe"))
    if not probe_ok(node):
        error = probe.get("error") or "no result"
        return make_check("node.fi_info", title, "failed", f"probe failed: {error}", node=name, kind="node_info")
    fi = as_dict(probe.get("fi_info"))
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
