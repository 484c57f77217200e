# -*- coding: utf-8 -*-
"""EC2 responses shaped as EC2 returns them, for the unit tests."""

import datetime

UTC = datetime.timezone.utc

# (network cards, MaximumEfaInterfaces, GPU/accelerator, vCPUs, memory MiB), from EC2's
# published specifications of these types.
SPECS = {
    "p5.48xlarge": (32, 32, ("NVIDIA", "H100", 8, 81920), 192, 2097152),
    "p5en.48xlarge": (16, 16, ("NVIDIA", "H200", 8, 144384), 192, 2097152),
    "p4d.24xlarge": (4, 4, ("NVIDIA", "A100", 8, 40960), 96, 1179648),
    "trn1.32xlarge": (8, 8, ("neuron", "Trainium", 16, 32768), 128, 524288),
    "g5.12xlarge": (1, 1, ("NVIDIA", "A10G", 4, 24576), 48, 196608),
    "t3.large": (1, 0, None, 2, 8192),
}


def instance_type(name, interface_types=("interface", "efa", "efa-only"), report_interface_types=True):
    cards, max_efa, accel, vcpus, memory = SPECS[name]
    network_cards = []
    for index in range(cards):
        card = {
            "NetworkCardIndex": index,
            "NetworkPerformance": "100 Gigabit",
            "MaximumNetworkInterfaces": 2,
            "BaselineBandwidthInGbps": 100.0,
            "PeakBandwidthInGbps": 100.0,
        }
        if report_interface_types:
            card["InterfaceTypes"] = list(interface_types if max_efa else ("interface",))
        network_cards.append(card)
    network = {
        "NetworkPerformance": "Up to 5 Gigabit" if not max_efa else f"{cards * 100} Gigabit",
        "MaximumNetworkInterfaces": cards * 2,
        "MaximumNetworkCards": cards,
        "DefaultNetworkCardIndex": 0,
        "NetworkCards": network_cards,
        "EfaSupported": bool(max_efa),
        "EnaSupport": "required",
    }
    if max_efa:
        network["EfaInfo"] = {"MaximumEfaInterfaces": max_efa}
    raw = {
        "InstanceType": name,
        "CurrentGeneration": True,
        "VCpuInfo": {"DefaultVCpus": vcpus},
        "MemoryInfo": {"SizeInMiB": memory},
        "NetworkInfo": network,
    }
    if accel and accel[0] == "neuron":
        device, count, mib = accel[1:]
        raw["NeuronInfo"] = {
            "NeuronDevices": [{"Name": device, "Count": count, "MemoryInfo": {"SizeInMiB": mib}}],
            "TotalNeuronDeviceMemoryInMiB": count * mib,
        }
    elif accel:
        maker, model, count, mib = accel
        raw["GpuInfo"] = {
            "Gpus": [{"Name": model, "Manufacturer": maker, "Count": count, "MemoryInfo": {"SizeInMiB": mib}}],
            "TotalGpuMemoryInMiB": count * mib,
        }
    return raw


def capacity_block_offering(offering_id, day, fee, zone="us-east-2a"):
    """A 48-hour, 2 x p5.48xlarge DescribeCapacityBlockOfferings entry starting on 2030-01-<day>."""
    return {
        "CapacityBlockOfferingId": offering_id,
        "InstanceType": "p5.48xlarge",
        "AvailabilityZone": zone,
        "InstanceCount": 2,
        "StartDate": datetime.datetime(2030, 1, day, 11, 30, tzinfo=UTC),
        "EndDate": datetime.datetime(2030, 1, day + 2, 11, 30, tzinfo=UTC),
        "CapacityBlockDurationHours": 48,
        "UpfrontFee": fee,
        "CurrencyCode": "USD",
        "Tenancy": "default",
    }
