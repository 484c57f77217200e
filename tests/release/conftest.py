# -*- coding: utf-8 -*-
"""Release fixtures: the collection built into a tarball, installed offline into an empty
collections path, and the consumer collection (tests/consumer) installed beside it.

Every ansible command of these tests runs with `consumer_env`: ANSIBLE_COLLECTIONS_PATH names the
install directory and the virtual environment's own collections (amazon.aws, community.aws,
ansible.utils, ansible.posix, community.docker) and nothing else, sys.path is not scanned for
collections, the configuration file is an empty one and the working directory is a temporary one:
this checkout (and its .collections link) is never on the path, so a file the build leaves out
fails here as it would for a user.
"""

import os
import pathlib
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import release_helpers  # noqa: E402
from release_helpers import BIN  # noqa: E402
from release_helpers import CONSUMER  # noqa: E402
from release_helpers import ROOT  # noqa: E402
from release_helpers import SITE  # noqa: E402
from release_helpers import run  # noqa: E402

# The lab's local AWS, the fixture tests/integration starts it with.
lab_aws = release_helpers.lab_aws


@pytest.fixture(scope="session")
def timings():
    """Seconds per step, printed at the end of the session (pytest -s shows them)."""
    found = {}
    yield found
    for name, seconds in found.items():
        print(f"release timing: {name}: {seconds:.1f} s")


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory):
    """The directory all ansible commands run in: no ansible.cfg, no collections."""
    path = tmp_path_factory.mktemp("release")
    (path / "ansible.cfg").write_text("[defaults]\n")
    (path / "roles").mkdir()
    return path


@pytest.fixture(scope="session")
def install_dir(release_dir):
    return release_dir / "collections"


@pytest.fixture(scope="session")
def consumer_env(release_dir, install_dir):
    """What every ansible command of these tests runs with (see the module docstring)."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("ANSIBLE_") or name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
            env.pop(name)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(release_dir / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=f"{install_dir}{os.pathsep}{SITE}",
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
        ANSIBLE_ROLES_PATH=str(release_dir / "roles"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="false",
        ANSIBLE_HOST_KEY_CHECKING="false",
    )
    return env


@pytest.fixture(scope="session")
def tarball(tmp_path_factory, consumer_env, release_dir, timings):
    """nixl_efa-cluster-<version>.tar.gz: RELEASE_TARBALL (make release's), else built from this tree."""
    given = os.environ.get("RELEASE_TARBALL")
    if given:
        return pathlib.Path(given).resolve()
    out = tmp_path_factory.mktemp("build")
    start = time.monotonic()
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, ROOT], consumer_env, release_dir)
    timings["ansible-galaxy collection build"] = time.monotonic() - start
    (found,) = out.glob("nixl_efa-cluster-*.tar.gz")
    return found


@pytest.fixture(scope="session")
def installed(tarball, install_dir, consumer_env, release_dir, timings):
    """The tarball installed offline; its dependencies found in the virtual environment."""
    start = time.monotonic()
    result = run(
        [BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", install_dir, tarball],
        consumer_env, release_dir,
    )  # fmt: skip
    timings["ansible-galaxy collection install (offline)"] = time.monotonic() - start
    path = install_dir / "ansible_collections" / "nixl_efa" / "cluster"
    assert path.is_dir(), result.stdout + result.stderr
    return path, result.stdout + result.stderr


@pytest.fixture(scope="session")
def consumer(installed, tmp_path_factory, install_dir, consumer_env, release_dir):
    """acme.gpu_ops built from tests/consumer and installed offline: its dependency on
    nixl_efa.cluster is satisfied by the copy `installed` put there, or the install fails."""
    out = tmp_path_factory.mktemp("consumer-build")
    run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, CONSUMER], consumer_env, release_dir)
    (built,) = out.glob("acme-gpu_ops-*.tar.gz")
    result = run(
        [BIN / "ansible-galaxy", "collection", "install", "--offline", "-p", install_dir, built],
        consumer_env, release_dir,
    )  # fmt: skip
    return install_dir / "ansible_collections" / "acme" / "gpu_ops", result.stdout + result.stderr
