# -*- coding: utf-8 -*-
"""meta/execution-environment.yml and the files it names, without building anything.

- The definition is ansible-builder's version 3 and installs what make test tests: the ansible-core
  range (its floor is meta/runtime.yml's requires_ansible, and it admits the ansible-core of this
  run, 2.19 or 2.21), Python 3.11 or newer, the Galaxy requirements of requirements.yml, the same
  Python package ranges as requirements.txt and requirements-2.21.txt.
- Its `python` and `system` files are found from the definition's folder (ansible-builder -f) and
  from the collection's root (ansible-builder's introspection of the installed collection, when
  another EE depends on it): the same files, through relative links inside the collection.
- The two build steps it ships (meta/ee/): the collection tarballs' install, and the
  session-manager-plugin's, with AWS's download URLs per package format and architecture.
"""

import os
import pathlib
import subprocess
import sys

import pytest
import yaml
from ansible.module_utils.compat.version import LooseVersion
from ansible.release import __version__
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parents[2]
META = ROOT / "meta"
DEFINITION = META / "execution-environment.yml"
PLUGIN_SCRIPT = META / "ee" / "install-session-manager-plugin.sh"
COLLECTIONS_SCRIPT = META / "ee" / "install-collections.sh"
DOWNLOADS = "https://s3.amazonaws.com/session-manager-downloads/plugin"


def _definition():
    return yaml.safe_load(DEFINITION.read_text())


def _requirements(path):
    """name -> specifier of a pip requirements file."""
    found = {}
    for text in path.read_text().splitlines():
        line = text.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            found[requirement.name] = str(requirement.specifier)
    return found


def test_the_definition_is_version_3_with_a_pullable_base_image():
    definition = _definition()
    assert definition["version"] == 3
    name = definition["images"]["base_image"]["name"]
    assert ":" in name.rsplit("/", 1)[1], f"ansible-builder needs a tag: {name}"
    # The real base a user pulls; the lab's Debian base only ever comes in through --build-arg.
    assert "nixl-efa" not in name


def test_ansible_core_is_the_tested_range_on_a_python_it_supports():
    dependencies = _definition()["dependencies"]
    core = Requirement(dependencies["ansible_core"]["package_pip"])
    assert core.name == "ansible-core"
    runtime = yaml.safe_load((META / "runtime.yml").read_text())["requires_ansible"]
    floor = runtime.removeprefix(">=")
    assert f">={floor}" in str(core.specifier), (core, runtime)
    assert core.specifier.contains(__version__), f"ansible-core {__version__} of this run is outside {core}"
    assert Requirement(dependencies["ansible_runner"]["package_pip"]).name == "ansible-runner"
    interpreter = dependencies["python_interpreter"]
    version = interpreter["package_system"].removeprefix("python")
    assert LooseVersion(version) >= LooseVersion("3.11"), "ansible-core 2.19 needs Python 3.11 on the controller"
    assert interpreter["python_path"].endswith(f"python{version}")


def test_the_galaxy_requirements_are_requirements_yml():
    assert (META / _definition()["dependencies"]["galaxy"]).resolve() == ROOT / "requirements.yml"


@pytest.mark.parametrize("entry", ["python", "system"])
def test_dependency_files_resolve_alike_for_the_definition_and_for_introspection(entry):
    """ansible-builder -f takes the path from meta/; its introspection of the installed collection
    takes it from the collection's root. Both must reach the same file (the root one is a link)."""
    relative = _definition()["dependencies"][entry]
    assert isinstance(relative, str) and not os.path.isabs(relative), "introspection reads a relative path only"
    from_definition = META / relative
    from_root = ROOT / relative
    assert from_definition.is_file() and not from_definition.is_symlink()
    assert from_root.is_symlink(), f"{relative} at the collection's root must link to meta/{relative}"
    assert not os.path.isabs(os.readlink(from_root)), "a relative link, inside the collection"
    assert from_root.resolve() == from_definition.resolve()


def test_python_packages_have_the_ranges_make_test_runs():
    wanted = _requirements(META / _definition()["dependencies"]["python"])
    assert {"boto3", "botocore", "netaddr"} <= set(wanted)
    for tested in ("requirements.txt", "requirements-2.21.txt"):
        ranges = _requirements(ROOT / tested)
        for name, specifier in wanted.items():
            assert ranges.get(name) == specifier, f"{name}{specifier} vs {tested}: {ranges.get(name)}"


def test_the_shipped_build_steps_exist_and_the_local_copies_stay_out_of_git():
    for entry in _definition()["additional_build_files"]:
        source = entry["src"]
        if source.startswith("../"):
            # What the user builds first (or lab/ee.py stages), under build/ee: ignored by git and
            # left out of the collection's tarball.
            assert source.startswith("../build/ee/"), source
            assert "build" in yaml.safe_load((ROOT / "galaxy.yml").read_text())["build_ignore"]
            assert "build/" in (ROOT / ".gitignore").read_text().splitlines()
        else:
            assert (META / source).is_file() and os.access(META / source, os.X_OK), source


def _run(args, **env):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False,
                          env={**os.environ, **env}, timeout=60)  # fmt: skip


@pytest.mark.parametrize(
    ("package", "arch", "folder"),
    [("rpm", "x86_64", "linux_64bit"), ("rpm", "aarch64", "linux_arm64"),
     ("deb", "x86_64", "ubuntu_64bit"), ("deb", "aarch64", "ubuntu_arm64")],
)  # fmt: skip
def test_the_plugin_comes_from_aws_documented_download_per_package_and_architecture(package, arch, folder):
    result = _run([PLUGIN_SCRIPT, "--url", package, arch])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{DOWNLOADS}/latest/{folder}/session-manager-plugin.{package}"
    pinned = _run([PLUGIN_SCRIPT, "--url", package, arch, "1.2.707.0"]).stdout.strip()
    assert pinned == f"{DOWNLOADS}/1.2.707.0/{folder}/session-manager-plugin.{package}"


def test_no_download_for_an_architecture_aws_does_not_build():
    result = _run([PLUGIN_SCRIPT, "--url", "rpm", "ppc64le"])
    assert result.returncode != 0
    assert "no rpm package for ppc64le" in result.stderr


def test_a_local_executable_is_installed_where_the_package_puts_it_and_linked(tmp_path):
    """The local-copy hook (an air-gapped build; the lab's stand-in): no download, the same paths."""
    context = tmp_path / "context"
    context.mkdir()
    script = context / PLUGIN_SCRIPT.name
    script.write_text(PLUGIN_SCRIPT.read_text())
    script.chmod(0o755)
    plugin = context / "session-manager-plugin"
    plugin.write_text('#!/bin/sh\n. "$(dirname "$(readlink -f "$0")")/version.sh"\n')
    plugin.chmod(0o755)
    (context / "version.sh").write_text("echo 9.9.9\n")
    prefix, link = tmp_path / "sessionmanagerplugin", tmp_path / "bin" / "session-manager-plugin"
    link.parent.mkdir()
    result = _run([script], SSM_PLUGIN_PREFIX=prefix, SSM_PLUGIN_LINK=link, PATH=os.environ["PATH"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Downloading" not in result.stdout
    assert sorted(p.name for p in (prefix / "bin").iterdir()) == ["session-manager-plugin", "version.sh"]
    assert link.resolve() == prefix / "bin" / "session-manager-plugin"
    assert result.stdout.strip().endswith("session-manager-plugin: 9.9.9")


def _fake_galaxy(tmp_path):
    """An ansible-galaxy on PATH that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "galaxy.log"
    fake = bin_dir / "ansible-galaxy"
    fake.write_text(f'#!/bin/sh\necho "$@" > {log}\n')
    fake.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}", log


def _collections_dir(tmp_path, names):
    folder = tmp_path / "collections"
    folder.mkdir()
    script = folder / COLLECTIONS_SCRIPT.name
    script.write_text(COLLECTIONS_SCRIPT.read_text())
    script.chmod(0o755)
    for name in names:
        (folder / name).write_bytes(b"")
    return script


def test_the_collection_and_the_tarballs_beside_it_install_offline_without_resolving(tmp_path):
    path, log = _fake_galaxy(tmp_path)
    script = _collections_dir(tmp_path, ["nixl_efa-cluster-0.1.0.tar.gz", "amazon-aws-10.1.2.tar.gz"])
    result = _run([script, "/usr/share/ansible/collections"], PATH=path)
    assert result.returncode == 0, result.stderr
    args = log.read_text().split()
    assert args[:6] == ["collection", "install", "--offline", "--no-deps", "--collections-path",
                        "/usr/share/ansible/collections"]  # fmt: skip
    installed = sorted(pathlib.Path(a).name for a in args[6:])
    assert installed == ["amazon-aws-10.1.2.tar.gz", "nixl_efa-cluster-0.1.0.tar.gz"]


@pytest.mark.parametrize("names", [[], ["nixl_efa-cluster-0.1.0.tar.gz", "nixl_efa-cluster-0.2.0.tar.gz"]])
def test_the_build_stops_without_exactly_one_collection_tarball(tmp_path, names):
    path, log = _fake_galaxy(tmp_path)
    script = _collections_dir(tmp_path, names)
    result = _run([script, "/usr/share/ansible/collections"], PATH=path)
    assert result.returncode == 1
    assert f"found {len(names)}" in result.stderr and "ansible-galaxy collection build" in result.stderr
    assert not log.exists()


@pytest.mark.parametrize(
    ("environ", "token"),
    [({"AWS_SECURITY_TOKEN": "awx"}, "awx"),  # what AWX's Amazon Web Services credential sets
     ({"AWS_SESSION_TOKEN": "cli", "AWS_SECURITY_TOKEN": "old"}, "cli"),
     ({}, "")],
)  # fmt: skip
def test_the_ssm_connection_gets_the_session_token_awx_gives(tmp_path, environ, token):
    """amazon.aws.aws_ssm reads AWS_SESSION_TOKEN only; the nodes' group vars hand it either variable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    result = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "ansible"), "localhost", "-i", "localhost,", "-c", "local",
         "-m", "ansible.builtin.debug", "-a", "msg=[{{ ansible_aws_ssm_session_token }}]",
         "-e", f"@{ROOT / 'inventories' / 'aws' / 'group_vars' / 'nixl_efa_nodes.yml'}"],
        capture_output=True, text=True, check=False, cwd=tmp_path, timeout=120,
        env={**env, **environ, "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg")},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f'"msg": "[{token}]"' in result.stdout, result.stdout
