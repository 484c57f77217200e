# -*- coding: utf-8 -*-
"""What the nixl role reads of a node: CUDA, packages, EFA, the venv, and NIXL's backends (nixl_node_info)."""

import json
import os
import subprocess
import sys

import pytest
from node_tree import write

from ansible_collections.nixl_efa.cluster.plugins.module_utils import nixl_node

CHECK_OK = {"plugin_dir": "/v/p", "plugins": ["UCX"], "backends": {"UCX": {"loadable": True, "error": None}},
            "import_error": None}  # fmt: skip


class FakeRun:
    """Answers by the command's first words; records every call with its environment."""

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv, env=None):
        self.calls.append((list(argv), env))
        for prefix, answer in self.answers.items():
            if tuple(argv[: len(prefix)]) == prefix:
                return answer
        return 1, "", "unknown command"


def _venv(root):
    write(root, "/opt/nixl/bin/python", "#!/bin/sh\n", 0o755)


@pytest.mark.parametrize(
    ("files", "smi", "override", "expected"),
    [
        ({"/usr/local/cuda/version.json": '{"cuda": {"version": "13.0.1"}}'}, None, 0,
         (13, "/usr/local/cuda/version.json", 13)),
        ({}, (0, "| NVIDIA-SMI 570.1  Driver Version: 570.1  CUDA Version: 12.8 |", ""), 0, (12, "nvidia-smi", 12)),
        ({}, (127, "", "not found"), 0, (12, "default", None)),
        ({"/usr/local/cuda/version.json": '{"cuda": {"version": "12.4.1"}}'}, None, 13, (13, "override", 12)),
    ],
)  # fmt: skip
def test_the_cuda_major_comes_from_the_override_the_toolkit_the_driver_or_the_default(
    tmp_path, files, smi, override, expected
):
    for path, text in files.items():
        write(tmp_path, path, text)
    run = FakeRun({("nvidia-smi",): smi} if smi else {})
    facts = nixl_node.NixlNode(run, root=str(tmp_path)).facts("/opt/nixl", cuda_major=override)
    assert (facts["cuda_major"], facts["cuda_source"], facts["cuda_detected"]) == expected
    assert facts["import_name"] == f"nixl_cu{expected[0]}"


def test_without_a_venv_nothing_is_imported_or_asked_of_a_python(tmp_path):
    run = FakeRun({("dpkg-query",): (0, "install ok installed", "")})
    facts = nixl_node.NixlNode(run, root=str(tmp_path)).facts("/opt/nixl", debs=["python3-venv"], backends=["UCX"])
    assert facts["in_venv"] is False and facts["installed"] == {} and facts["backends"] == {}
    assert facts["import_error"] is None and facts["debs"] == {"python3-venv": True}
    assert not [argv for argv, _env in run.calls if argv[0].endswith("python")]


def test_with_a_venv_the_versions_and_the_backend_check_are_asked_of_its_python(tmp_path):
    _venv(tmp_path)
    write(tmp_path, "/opt/amazon/efa/lib/libfabric.so", "")
    write(tmp_path, "/opt/amazon/efa/bin/fi_info", "#!/bin/sh\n", 0o755)
    noise = "[1765000000.1] UCX INFO some log line on stdout\n"
    run = FakeRun({
        ("/opt/nixl/bin/python", "-c", nixl_node.service_node.VERSIONS_CODE): (0, '{"nixl": "1.5.1"}', ""),
        ("/opt/nixl/bin/python", "-c", nixl_node.CHECK_CODE): (0, noise + json.dumps(CHECK_OK) + "\n", ""),
        ("/opt/amazon/efa/bin/fi_info", "-p", "efa"): (0, "provider: efa\n    fabric: efa\n", ""),
    })  # fmt: skip
    facts = nixl_node.NixlNode(run, root=str(tmp_path)).facts(
        "/opt/nixl", distributions=["nixl"], backends=["UCX"], plugin_dir="/srv/plugins"
    )
    assert facts["in_venv"] is True and facts["installed"] == {"nixl": "1.5.1"}
    assert facts["efa_lib_dir"] is True and facts["efa_provider"] is True and facts["cuda_lib_dir"] is False
    assert facts["backends"] == CHECK_OK["backends"] and facts["plugins"] == ["UCX"] and facts["import_error"] is None
    check = next((argv, env) for argv, env in run.calls if nixl_node.CHECK_CODE in argv)
    assert json.loads(check[0][-1]) == {"module": "nixl_cu12", "backends": ["UCX"]}
    assert check[1]["NIXL_PLUGIN_DIR"] == "/srv/plugins"
    assert check[1]["LD_LIBRARY_PATH"].split(":")[0] == "/opt/amazon/efa/lib"
    versions = next(argv for argv, _env in run.calls if nixl_node.service_node.VERSIONS_CODE in argv)
    assert versions[3:] == ["nixl", "nixl-cu12", "nixl-cu13"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ((-11, "", "Fatal Python error: Segmentation fault\nline 2"), "it exited -11): Fatal Python error"),
        ((None, "", "No such file"), "it could not run): No such file"),
        ((0, "not json\n", ""), "it exited 0)"),
    ],
)
def test_a_check_without_an_answer_says_why(answer, expected):
    result = nixl_node.parse_check(*answer)
    assert result["backends"] == {} and expected in result["import_error"]


def test_the_library_path_has_efa_first_then_cuda_then_what_was_there():
    present = {"/opt/amazon/efa/lib", "/usr/local/cuda/lib64"}
    path = nixl_node.library_path("/usr/local/cuda/lib64", "/opt/amazon/efa", "/x", isdir=present.__contains__)
    assert path == "/opt/amazon/efa/lib:/usr/local/cuda/lib64:/x"
    assert nixl_node.library_path("/usr/local/cuda/lib64", "/opt/amazon/efa", "", isdir=lambda _d: False) == ""


FAKE_API = """
print("NIXL log line on stdout")
class nixl_agent_config:
    def __init__(self, enable_prog_thread, backends):
        self.backends = backends
class nixl_agent:
    def __init__(self, name, config):
        if config.backends != ["UCX"]:
            raise RuntimeError("NIXL_ERR_BACKEND: no plugin for " + config.backends[0])
"""


def test_the_check_code_itself_imports_nixl_and_tries_each_backend(tmp_path):
    write(tmp_path, "/site/nixl_cu12/__init__.py", "")
    write(tmp_path, "/site/nixl_cu12/_api.py", FAKE_API)
    write(tmp_path, "/plugins/libplugin_UCX.so", "")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"), NIXL_PLUGIN_DIR=str(tmp_path / "plugins"))
    request = json.dumps({"module": "nixl_cu12", "backends": ["UCX", "LIBFABRIC"]})
    proc = subprocess.run([sys.executable, "-c", nixl_node.CHECK_CODE, request], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    result = nixl_node.parse_check(proc.returncode, proc.stdout, proc.stderr)
    assert proc.stdout.count("\n") == 1, proc.stdout  # the log line went to stderr
    assert result["plugins"] == ["UCX"] and result["plugin_dir"] == str(tmp_path / "plugins")
    assert result["backends"]["UCX"] == {"loadable": True, "error": None}
    assert not result["backends"]["LIBFABRIC"]["loadable"]
    assert result["backends"]["LIBFABRIC"]["error"].endswith("the wheel ships no libplugin_LIBFABRIC.so")


def test_the_check_code_reports_a_missing_wheel(tmp_path):
    request = json.dumps({"module": "nixl_cu13", "backends": ["UCX"]})
    proc = subprocess.run([sys.executable, "-c", nixl_node.CHECK_CODE, request],
                          capture_output=True, text=True, check=False)  # fmt: skip
    result = nixl_node.parse_check(proc.returncode, proc.stdout, proc.stderr)
    assert result["import_error"].startswith("ModuleNotFoundError") and result["backends"] == {}
