# -*- coding: utf-8 -*-
"""nixl_node_info end to end: main() on this machine, the test interpreter as the venv's, a stand-in NIXL package."""

import os
import sys

from node_tree import write

from ansible_collections.nixl_efa.cluster.plugins.modules import nixl_node_info as module

FAKE_API = """
class nixl_agent_config:
    def __init__(self, enable_prog_thread, backends):
        self.backends = backends
class nixl_agent:
    def __init__(self, name, config):
        pass
"""


def test_reads_the_venv_and_tries_the_backends_in_check_mode(run_module, tmp_path, monkeypatch):
    os.makedirs(tmp_path / "venv/bin")
    os.symlink(sys.executable, tmp_path / "venv/bin/python")
    write(tmp_path, "/site/nixl_cu13/__init__.py", "")
    write(tmp_path, "/site/nixl_cu13/_api.py", FAKE_API)
    # A distribution the venv's interpreter finds on its path, whatever that interpreter's own site-packages hold.
    write(
        tmp_path, "/site/nixl_cu13-1.5.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: nixl-cu13\nVersion: 1.5.1\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    args = {
        "venv": str(tmp_path / "venv"),
        "cuda_major": 13,
        "distributions": ["nixl"],
        "backends": ["UCX"],
        "efa_prefix": str(tmp_path / "efa"),
        "cuda_lib_dir": str(tmp_path / "cuda/lib64"),
        "cuda_version_json": str(tmp_path / "cuda/version.json"),
        "nvidia_smi": str(tmp_path / "no-nvidia-smi"),
    }
    result = run_module(module, args, check_mode=True, aws=False)
    assert not result["failed"] and result["changed"] is False
    assert result["cuda_major"] == 13 and result["cuda_source"] == "override" and result["cuda_detected"] is None
    assert result["in_venv"] is True and result["installed"] == {"nixl-cu13": "1.5.1"}
    assert result["import_name"] == "nixl_cu13" and result["import_error"] is None
    assert result["backends"] == {"UCX": {"loadable": True, "error": None}}
    assert result["efa_provider"] is False and result["efa_lib_dir"] is False


def test_a_bad_timeout_is_refused(run_module, tmp_path):
    result = run_module(module, {"venv": str(tmp_path), "command_timeout": 0}, aws=False)
    assert result["failed"] and "command_timeout" in result["msg"]
