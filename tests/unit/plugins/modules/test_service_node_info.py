# -*- coding: utf-8 -*-
"""service_node_info end to end: main() on this machine, a fake nvidia-smi, the test interpreter as the venv's."""

import hashlib
import os
import pwd
import sys

import pytest
from node_tree import write

from ansible_collections.nixl_efa.cluster.plugins.modules import service_node_info as module

NVIDIA_SMI = """#!/bin/sh
[ "$1" = "-L" ] || exit 2
printf 'GPU 0: NVIDIA A10G (UUID: GPU-0)\\nGPU 1: NVIDIA A10G (UUID: GPU-1)\\n'
"""


def test_reports_what_a_role_asked_for_in_check_mode(run_module, tmp_path):
    write(tmp_path, "/etc/nixl-efa/ray.env", "A=1\n", 0o600)
    me = pwd.getpwuid(os.getuid()).pw_name
    args = {
        "python": sys.executable,
        "distributions": ["pytest", "no-such-distribution-here"],
        "base_python": sys.executable,
        "user": me,
        "paths": [str(tmp_path / "etc"), str(tmp_path / "none")],
        "files": [str(tmp_path / "etc/nixl-efa/ray.env"), str(tmp_path / "none")],
        "units": ["no-such-unit-for-tests.service"],
        "host": "127.0.0.1",
        "health_ports": [1],
    }
    result = run_module(module, args, check_mode=True, aws=False)
    assert not result["failed"] and result["changed"] is False
    assert result["gpus"] == []  # list_gpus not asked
    assert result["python"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert result["installed"] == {"pytest": pytest.__version__}
    assert result["user"] is True
    assert result["paths"][str(tmp_path / "etc")]["dir"] is True
    assert result["paths"][str(tmp_path / "etc")]["owner"] == me
    assert result["paths"][str(tmp_path / "none")] is None
    assert result["files"] == {
        str(tmp_path / "etc/nixl-efa/ray.env"): hashlib.sha1(b"A=1\n").hexdigest(),  # noqa: S324
        str(tmp_path / "none"): None,
    }
    assert "facts_dir" not in result
    assert result["units"] == {"no-such-unit-for-tests.service": {"enabled": False, "active": False, "exists": False}}
    assert result["health"] == {"1": False}
    assert isinstance(result["address"], str)
    assert result["debs"] == {}


def test_gpus_from_nvidia_smi(run_module, tmp_path):
    nvidia_smi = write(tmp_path, "/usr/bin/nvidia-smi", NVIDIA_SMI, 0o755)
    args = {
        "list_gpus": True,
        "nvidia_smi": nvidia_smi,
        "gpus_required": True,
        "base_python": sys.executable,
        "python": sys.executable,
        "distributions": ["pytest"],
    }
    result = run_module(module, args, aws=False)
    assert result["gpus"] == ["GPU 0: NVIDIA A10G (UUID: GPU-0)", "GPU 1: NVIDIA A10G (UUID: GPU-1)"]
    assert result["python"] and result["installed"] == {"pytest": pytest.__version__}


def test_no_gpu_skips_the_venv(run_module, tmp_path):
    args = {
        "list_gpus": True,
        "nvidia_smi": str(tmp_path / "missing-nvidia-smi"),
        "gpus_required": True,
        "base_python": sys.executable,
        "python": sys.executable,
        "distributions": ["pytest"],
        "health_ports": [8100, "8200"],
    }
    result = run_module(module, args, aws=False)
    assert not result["failed"]
    assert (result["gpus"], result["python"], result["installed"]) == ([], "", {})
    assert result["health"] == {"8100": False, "8200": False}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"command_timeout": 0}, "command_timeout must be greater than 0"),
        ({"health_ports": [5000, 70000]}, "health_ports must be between 1 and 65535, not [70000]"),
    ],
)
def test_refuses_bad_options(run_module, args, message):
    result = run_module(module, args, aws=False)
    assert result["failed"] and result["msg"] == message
