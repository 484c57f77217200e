# -*- coding: utf-8 -*-
"""efa_node_info end to end: main() over a fake node tree with fake fi_info and nvidia-smi scripts."""

import socket
import time

import pytest
from node_tree import write

from ansible_collections.nixl_efa.cluster.plugins.modules import efa_node_info as module

FI_INFO = """#!/bin/sh
case "$1" in
  --version) printf 'fi_info: 1.17.0\\nlibfabric: 1.17.0\\nlibfabric api: 1.17\\n' ;;
  -l) printf 'shm:\\n    version: 117.0\\ntcp:\\n    version: 117.0\\nsockets:\\n    version: 117.0\\n' ;;
  *) exit 2 ;;
esac
"""

NVIDIA_SMI = """#!/bin/sh
if [ "$1" = "--query-gpu=name,memory.total,driver_version" ]; then
  printf 'NVIDIA A10G, 23028, 535.183.01\\nNVIDIA A10G, 23028, 535.183.01\\n'
else
  printf '| NVIDIA-SMI 535.183.01   Driver Version: 535.183.01   CUDA Version: 12.2 |\\n'
fi
"""


@pytest.fixture
def lab_node(tmp_path, monkeypatch):
    """A Debian node like the lab's after libfabric-bin, with two GPUs added."""
    write(tmp_path, "/usr/bin/fi_info", FI_INFO, 0o755)
    write(tmp_path, "/usr/bin/nvidia-smi", NVIDIA_SMI, 0o755)
    write(
        tmp_path,
        "/proc/net/route",
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n",
    )
    write(tmp_path, "/sys/class/net/eth0/mtu", "1500\n")
    write(tmp_path, "/sys/class/net/lo/mtu", "65536\n")
    monkeypatch.setattr(module, "ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return tmp_path


def test_reports_every_section_without_imds(run_module, lab_node):
    args = {"imds": False, "paths": ["/usr/bin/fi_info", "/opt/none"]}
    result = run_module(module, args, check_mode=True, aws=False)
    assert not result["failed"] and result["changed"] is False
    efa = result["efa"]
    assert efa["installed"] is False and efa["pci_devices"] == [] and efa["kernel_module_loaded"] is False
    assert efa["libfabric"] == {
        "fi_info": "/usr/bin/fi_info",
        "version": "1.17.0",
        "providers": ["shm", "tcp", "sockets"],
        "efa_provider": False,
        "error": None,
    }
    gpu = result["gpu"]
    assert gpu["count"] == 2 and gpu["gpus"][0] == {"name": "NVIDIA A10G", "memory_mib": 23028}
    assert gpu["driver_version"] == "535.183.01"
    assert (gpu["cuda_version"], gpu["cuda_version_source"], gpu["cuda_major"]) == ("12.2", "driver", 12)
    assert result["nccl"]["ofi_nccl_plugin"] is None
    assert result["network"]["default_interface"] == "eth0"
    assert result["network"]["interfaces"] == ["eth0", "lo"]
    assert (result["instance_type"], result["imds_error"]) == (None, None)
    assert result["paths"] == {"/usr/bin/fi_info": True, "/opt/none": False}


def test_reads_what_the_validation_role_needs_in_the_same_task(run_module, lab_node):
    assert run_module(module, {"imds": False}, aws=False)["fi_info"] is None  # nothing asked, nothing run
    write(lab_node, "/etc/ansible/facts.d/nixl_efa_nixl.fact", '{"module": "nixl_cu12"}')
    write(lab_node, "/etc/ansible/facts.d/nixl_efa_vllm.fact", "{broken")
    write(lab_node, "/opt/venv/bin/python3", "", 0o755)
    write(lab_node, "/opt/venv/bin/torchrun", "#!/opt/venv/bin/python3\n", 0o755)
    args = {
        "imds": False,
        "fi_info_provider": "tcp",
        "facts_prefix": "nixl_efa_",
        "torchrun_candidates": ["/absent/torchrun", "/opt/venv/bin/torchrun"],
    }
    result = run_module(module, args, check_mode=True, aws=False)
    assert not result["failed"] and result["changed"] is False
    assert result["fi_info"]["path"] == "/usr/bin/fi_info" and result["fi_info"]["provider"] == "tcp"
    assert result["local_facts"]["nixl_efa_nixl"] == {"module": "nixl_cu12"}
    assert "error" in result["local_facts"]["nixl_efa_vllm"]
    assert (result["torchrun"], result["torchrun_python"]) == ("/opt/venv/bin/torchrun", "/opt/venv/bin/python3")


def test_imds_that_does_not_answer_costs_only_the_timeout(run_module, lab_node):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        start = time.monotonic()
        endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
        result = run_module(module, {"imds_endpoint": endpoint, "imds_timeout": 0.3}, aws=False)
        elapsed = time.monotonic() - start
    assert result["instance_type"] is None and "timed out" in result["imds_error"]
    assert elapsed < 3.0


def test_command_timeout_stops_a_hung_command(run_module, lab_node):
    write(lab_node, "/usr/bin/nvidia-smi", "#!/bin/sh\nsleep 30\n", 0o755)
    start = time.monotonic()
    result = run_module(module, {"imds": False, "command_timeout": 1}, aws=False)
    assert time.monotonic() - start < 15
    assert result["gpu"]["count"] == 0 and "timed out after 1 s" in result["gpu"]["error"]


def test_rejects_non_positive_timeouts(run_module, lab_node):
    result = run_module(module, {"imds_timeout": 0}, aws=False)
    assert result["failed"] and "greater than 0" in result["msg"]
