# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure logic for EFA instance types: no AWS calls, unit tested on its own.

Everything here works on the data DescribeInstanceTypes returns, so no list of
EFA-capable types is kept in this collection: EC2 is the authority.
"""

# Root volume sizes (GB) recommended per instance type by the system this
# collection replaces: room for the DLAMI, CUDA, model weights and caches.
RECOMMENDED_VOLUME_SIZES = {
    "g5.12xlarge": 200,
    "g5.24xlarge": 300,
    "g5.48xlarge": 500,
    "g6.12xlarge": 200,
    "g6.24xlarge": 300,
    "g6.48xlarge": 500,
    "g6e.12xlarge": 200,
    "g6e.24xlarge": 300,
    "g6e.48xlarge": 500,
    "g7e.8xlarge": 300,
    "g7e.12xlarge": 300,
    "g7e.24xlarge": 500,
    "g7e.48xlarge": 1000,
    "p4d.24xlarge": 500,
    "p4de.24xlarge": 500,
    "p5.48xlarge": 1000,
    "trn1.32xlarge": 500,
    "trn1n.32xlarge": 500,
    "inf2.24xlarge": 300,
    "inf2.48xlarge": 500,
}

# For types outside the table: accelerator memory large enough to hold a
# 600 GiB+ model checkpoint gets the largest class, otherwise the size class
# follows the vCPU count the way the table does (12xlarge=48 vCPUs -> 200,
# 24xlarge=96 -> 300, 48xlarge=192 -> 500).
LARGE_ACCELERATOR_MEMORY_MIB = 600 * 1024
VOLUME_SIZE_BY_VCPUS = ((48, 200), (96, 300), (192, 500))
LARGEST_VOLUME_SIZE = 1000

PRIMARY_INTERFACE_TYPE = "efa"
PLAIN_INTERFACE_TYPE = "interface"
EFA_ONLY = "efa-only"


class EfaLayoutError(ValueError):
    """Raised when an EFA interface layout cannot be built for a request."""


def recommended_volume_size(instance_type, vcpus=None, accelerator_memory_mib=None):
    """Return (size_gb, source) where source is 'table' or 'rule'."""
    if instance_type in RECOMMENDED_VOLUME_SIZES:
        return RECOMMENDED_VOLUME_SIZES[instance_type], "table"
    if accelerator_memory_mib and accelerator_memory_mib >= LARGE_ACCELERATOR_MEMORY_MIB:
        return LARGEST_VOLUME_SIZE, "rule"
    for max_vcpus, size in VOLUME_SIZE_BY_VCPUS:
        if vcpus is None or vcpus <= max_vcpus:
            return size, "rule"
    return LARGEST_VOLUME_SIZE, "rule"


def _network_card_details(network_info):
    details = []
    for card in sorted(network_info.get("NetworkCards") or [], key=lambda c: c.get("NetworkCardIndex", 0)):
        details.append(
            {
                "network_card_index": card.get("NetworkCardIndex", 0),
                "maximum_network_interfaces": card.get("MaximumNetworkInterfaces"),
                "baseline_bandwidth_in_gbps": card.get("BaselineBandwidthInGbps"),
                "network_performance": card.get("NetworkPerformance"),
                # None when EC2 does not report the interface types of the card.
                "interface_types": card.get("InterfaceTypes"),
            }
        )
    return details


def summarize_instance_type(raw):
    """Turn one DescribeInstanceTypes entry into this collection's snake_case summary."""
    network = raw.get("NetworkInfo") or {}
    gpu_info = raw.get("GpuInfo") or {}
    gpus = gpu_info.get("Gpus") or []
    neuron = raw.get("NeuronInfo") or {}
    neuron_devices = neuron.get("NeuronDevices") or []
    inference = (raw.get("InferenceAcceleratorInfo") or {}).get("Accelerators") or []

    gpu_name = gpu_count = gpu_memory = None
    if gpus:
        first = gpus[0]
        gpu_name = " ".join(p for p in (first.get("Manufacturer"), first.get("Name")) if p)
        gpu_count = sum(g.get("Count", 0) for g in gpus)
        gpu_memory = (first.get("MemoryInfo") or {}).get("SizeInMiB")

    accelerator_name = accelerator_count = None
    if neuron_devices:
        accelerator_name = neuron_devices[0].get("Name")
        accelerator_count = sum(d.get("Count", 0) for d in neuron_devices)
    elif inference:
        accelerator_name = inference[0].get("Name")
        accelerator_count = sum(a.get("Count", 0) for a in inference)

    gpu_total = gpu_info.get("TotalGpuMemoryInMiB")
    accelerator_total = neuron.get("TotalNeuronDeviceMemoryInMiB")
    vcpus = (raw.get("VCpuInfo") or {}).get("DefaultVCpus")
    volume_size, volume_source = recommended_volume_size(raw["InstanceType"], vcpus, gpu_total or accelerator_total)
    cards = _network_card_details(network)

    return {
        "instance_type": raw["InstanceType"],
        "efa_supported": bool(network.get("EfaSupported")),
        "max_efa_interfaces": (network.get("EfaInfo") or {}).get("MaximumEfaInterfaces", 0),
        "network_cards": network.get("MaximumNetworkCards") or len(cards) or 1,
        "network_card_details": cards,
        "network_performance": network.get("NetworkPerformance"),
        "ena_srd_supported": bool(network.get("EnaSrdSupported")),
        "gpu_name": gpu_name,
        "gpu_count": gpu_count,
        "gpu_memory_mib": gpu_memory,
        "gpu_total_memory_mib": gpu_total,
        "accelerator_name": accelerator_name,
        "accelerator_count": accelerator_count,
        "accelerator_total_memory_mib": accelerator_total,
        "vcpus": vcpus,
        "memory_mib": (raw.get("MemoryInfo") or {}).get("SizeInMiB"),
        "current_generation": raw.get("CurrentGeneration"),
        "recommended_volume_size": volume_size,
        "recommended_volume_size_source": volume_source,
    }


def _efa_only_allowed(summary, card_index):
    """True/False when EC2 reports the card's interface types, None when it does not."""
    for card in summary.get("network_card_details") or []:
        if card["network_card_index"] == card_index:
            types = card.get("interface_types")
            if types is None:
                return None
            return EFA_ONLY in types
    return None


def efa_interface_layout(summary, efa_interfaces="max", efa_only_secondary=False):
    """Plan one EFA interface per network card for an instance type summary.

    Returns (layout, notes): layout is a list of dicts with network_card_index,
    device_index and interface_type; notes lists human-readable decisions the
    caller should surface (for example efa-only refused on a card).

    The primary interface is network card 0, device index 0, type efa (EFA with
    ENA, so the instance keeps its IP connectivity); every further interface sits
    on its own network card k at device index 1, type efa or, when asked and EC2
    allows it on that card, efa-only.

    efa_interfaces 0 (or "none") plans no EFA at all: one plain ENA interface
    (type interface), for a node that never talks over EFA, such as a single
    workstation; the instance type then need not support EFA.
    """
    itype = summary["instance_type"]
    if efa_interfaces is not None and str(efa_interfaces).strip().lower() in ("0", "none"):
        notes = []
        if efa_only_secondary:
            notes.append("efa_only_secondary has no effect without EFA interfaces")
        return [{"network_card_index": 0, "device_index": 0, "interface_type": PLAIN_INTERFACE_TYPE}], notes
    if not summary.get("efa_supported"):
        raise EfaLayoutError(
            f"Instance type {itype} does not support EFA (EC2 reports EfaSupported=false for it); "
            "choose an EFA-capable instance type"
        )
    max_efa = summary.get("max_efa_interfaces") or 0
    cards = summary.get("network_cards") or 1
    ceiling = min(max_efa, cards)
    if ceiling < 1:
        raise EfaLayoutError(
            f"Instance type {itype} reports EFA support but no EFA interfaces (MaximumEfaInterfaces=0)"
        )

    if efa_interfaces in (None, "max"):
        count = ceiling
    else:
        try:
            count = int(efa_interfaces)
        except (TypeError, ValueError):
            raise EfaLayoutError(
                f"efa_interfaces must be 'max', 'none' or a non-negative integer, got {efa_interfaces!r}"
            )
        if count < 0:
            raise EfaLayoutError(f"efa_interfaces must be 'none', 0 or more, got {count}")
        if count > ceiling:
            raise EfaLayoutError(
                f"Instance type {itype} supports at most {ceiling} EFA interface(s) "
                f"(MaximumEfaInterfaces={max_efa}, network cards={cards}); {count} requested"
            )

    layout = [{"network_card_index": 0, "device_index": 0, "interface_type": PRIMARY_INTERFACE_TYPE}]
    notes = []
    unreported = []
    for card in range(1, count):
        interface_type = "efa"
        if efa_only_secondary:
            allowed = _efa_only_allowed(summary, card)
            if allowed:
                interface_type = EFA_ONLY
            elif allowed is None:
                unreported.append(card)
            else:
                notes.append(f"network card {card} of {itype} does not accept efa-only interfaces; using efa")
        layout.append({"network_card_index": card, "device_index": 1, "interface_type": interface_type})
    if unreported:
        notes.append(
            f"EC2 did not report the interface types of network card(s) {unreported} of {itype}; "
            "using efa (EFA with ENA) there instead of efa-only"
        )
    return layout, notes
