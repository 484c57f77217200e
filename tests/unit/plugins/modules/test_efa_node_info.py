# -*- coding: utf-8 -*-
"""efa_node_info end to end: main() over a fake node tree with fake fi_info and nvidia-smi scripts."""

import os
import socket
import time

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

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


class _Done(Exception):
    pass


@pytest.fixture
def run_node_info(monkeypatch):
    def finish(self, **kwargs):
        raise _Done(kwargs)

    def fail(self, msg="", **kwargs):
        raise _Done(dict(kwargs, failed=True, msg=msg))

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", finish)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail)

    def run(args, check_mode=False):
        if check_mode:
            args = dict(args, _ansible_check_mode=True)
        with patch_module_args(args):
            try:
                module.main()
            except _Done as done:
                result = done.args[0]
                result.setdefault("failed", False)
                return result
        raise AssertionError("efa_node_info returned without exit_json or fail_json")

    return run


def put(root, path, text="", mode=0o644):
    local = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(local), exist_ok=True)
    with open(local, "w") as handle:
        handle.write(text)
    os.chmod(local, mode)


@pytest.fixture
def lab_node(tmp_path, monkeypatch):
    """A Debian node like the lab's after libfabric-bin, with two GPUs added."""
    put(tmp_path, "/usr/bin/fi_info", FI_INFO, 0o755)
    put(tmp_path, "/usr/bin/nvidia-smi", NVIDIA_SMI, 0o755)
    put(
        tmp_path,
        "/proc/net/route",
        "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n",
    )
    put(tmp_path, "/sys/class/net/eth0/mtu", "1500\n")
    put(tmp_path, "/sys/class/net/lo/mtu", "65536\n")
    monkeypatch.setattr(module, "ROOT", str(tmp_path))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    return tmp_path


def test_reports_every_section_without_imds(run_node_info, lab_node):
    result = run_node_info({"imds": False, "paths": ["/usr/bin/fi_info", "/opt/none"]}, check_mode=True)
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


def test_imds_that_does_not_answer_costs_only_the_timeout(run_node_info, lab_node):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        start = time.monotonic()
        result = run_node_info({"imds_endpoint": f"http://127.0.0.1:{sock.getsockname()[1]}", "imds_timeout": 0.3})
        elapsed = time.monotonic() - start
    assert result["instance_type"] is None and "timed out" in result["imds_error"]
    assert elapsed < 3.0


def test_command_timeout_stops_a_hung_command(run_node_info, lab_node):
    put(lab_node, "/usr/bin/nvidia-smi", "#!/bin/sh\nsleep 30\n", 0o755)
    start = time.monotonic()
    result = run_node_info({"imds": False, "command_timeout": 1})
    assert time.monotonic() - start < 15
    assert result["gpu"]["count"] == 0 and "timed out after 1 s" in result["gpu"]["error"]


def test_rejects_non_positive_timeouts(run_node_info, lab_node):
    result = run_node_info({"imds_timeout": 0})
    assert result["failed"] and "greater than 0" in result["msg"]
