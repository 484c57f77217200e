# -*- coding: utf-8 -*-
"""The release tarball: built from this tree, small, only what users need, installable offline.

make release runs this file against the tarball it built (RELEASE_TARBALL).
"""

import json
import subprocess
import tarfile

import yaml
from ansible.module_utils.compat.version import LooseVersion
from ansible.release import __version__
from release_helpers import BIN
from release_helpers import ROOT
from release_helpers import SITE
from release_helpers import run

# At most this big: the tarball was about 330 KB when this was written (plugins, roles, docs).
MAX_BYTES = 1024 * 1024
# Repository-only parts: the test harness, the lab, local state. None of them may be shipped.
NOT_SHIPPED = (
    ".venv", ".collections", ".ci", ".git/", ".lab", "reports/", "bench/", "molecule/", "tools/", "build/",
    "tests/unit", "tests/integration", "tests/e2e", "lab/", "tests/release", "tests/consumer",
    "tests/output", "tests/ee", "inventories/lab", "Makefile", ".pytest_cache", ".ruff_cache",
)  # fmt: skip


def _members(tarball):
    with tarfile.open(tarball) as tar:
        return {m.name: m for m in tar.getmembers()}


def _repository_files():
    """The files git sees: tracked, and untracked ones that .gitignore does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    return {name for name in listed if (ROOT / name).exists() or (ROOT / name).is_symlink()}


def test_tarball_is_small(tarball):
    size = tarball.stat().st_size
    print(f"{tarball.name}: {size} bytes")
    assert size < MAX_BYTES, f"{tarball.name} is {size} bytes: build_ignore in galaxy.yml lets something big in"


def test_tarball_holds_repository_files_only(tarball):
    members = _members(tarball)
    files = {name for name, m in members.items() if not m.isdir()} - {"MANIFEST.json", "FILES.json"}
    stray = sorted(files - _repository_files())
    assert not stray, f"files in the tarball that git does not see (local state? add to build_ignore): {stray[:20]}"
    harness = sorted(name for name in files if name.startswith(NOT_SHIPPED))
    assert not harness, f"repository-only files in the tarball (build_ignore): {harness[:20]}"


def test_tarball_holds_the_whole_collection(tarball):
    """Every plugin, role and playbook of the tree, the license and the metadata: build_ignore drops none."""
    files = set(_members(tarball))
    repository = _repository_files()
    wanted = {
        name for name in repository
        if name.startswith(("plugins/", "roles/", "playbooks/", "meta/", "docs/", "inventories/aws/"))
        and "__pycache__" not in name
    }  # fmt: skip
    wanted |= {"LICENSE", "README.md", "MANIFEST.json", "FILES.json"}
    # The links through which another execution environment's build reads meta/execution-environment.yml's lists.
    wanted |= {"ee-requirements.txt", "bindep.txt"}
    wanted |= {"changelogs/changelog.yaml", "changelogs/config.yaml"}
    missing = sorted(wanted - files)
    assert not missing, f"missing from the tarball: {missing[:20]}"
    assert "GNU GENERAL PUBLIC LICENSE" in (ROOT / "LICENSE").read_text()


def test_manifest_matches_galaxy_yml(tarball):
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    with tarfile.open(tarball) as tar:
        info = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    if not tarball.name.endswith(f"-{galaxy['version']}.tar.gz"):
        # make release: the tarball of the version galaxy.yml now says
        raise AssertionError(f"{tarball.name} is not version {galaxy['version']} of galaxy.yml")
    for key in ("namespace", "name", "version", "dependencies", "license", "tags", "repository", "documentation",
                "homepage", "issues", "description"):  # fmt: skip
        assert info[key] == galaxy[key], key
    assert len(galaxy["tags"]) <= 20
    assert all(tag == tag.lower() and tag.replace("_", "").isalnum() for tag in galaxy["tags"])


def test_installs_offline_with_its_dependencies_from_the_environment(installed, consumer_env, release_dir):
    path, output = installed
    for dependency in ("amazon.aws", "community.aws", "ansible.utils", "ansible.posix", "community.general"):
        assert f"'{dependency}:" in output and "is already installed" in output, output
    listed = run([BIN / "ansible-galaxy", "collection", "list", "--format", "json"], consumer_env, release_dir).stdout
    where = {root: names for root, names in json.loads(listed).items() if "nixl_efa.cluster" in names}
    assert list(where) == [str(path.parents[1])], f"nixl_efa.cluster must resolve to the install only: {where}"
    assert str(SITE / "ansible_collections") in json.loads(listed), "the environment's collections are not on the path"
    assert not (path / "tests" / "unit").exists()


def test_installed_copy_documents_and_checks_its_modules(installed, consumer_env, release_dir):
    """ansible-doc from the install: plugin docs and doc fragments shipped, the role argument specs read."""
    path = installed[0]
    for plugin in sorted(p.stem for p in (path / "plugins" / "modules").glob("*.py")):
        run([BIN / "ansible-doc", f"nixl_efa.cluster.{plugin}"], consumer_env, release_dir)
    roles = run([BIN / "ansible-doc", "-t", "role", "-l", "nixl_efa.cluster"], consumer_env, release_dir).stdout
    for role in sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists()):
        assert f"nixl_efa.cluster.{role}" in roles, roles


def test_installed_copy_meets_requires_ansible(installed, consumer_env, release_dir):
    """meta/runtime.yml's requires_ansible admits the ansible-core running these tests."""
    path = installed[0]
    requires = yaml.safe_load((path / "meta" / "runtime.yml").read_text())["requires_ansible"]
    assert requires.startswith(">="), requires
    assert LooseVersion(__version__) >= LooseVersion(requires[2:]), f"ansible-core {__version__} vs {requires}"
    result = run([BIN / "ansible-playbook", "--version"], consumer_env, release_dir)
    assert "[WARNING]" not in result.stderr or "requires_ansible" not in result.stderr


def test_installed_playbooks_parse(installed, consumer_env, release_dir):
    """The shipped playbooks, by their FQCN, resolve every role, module and filter they name."""
    path = installed[0]
    for playbook in sorted(p.stem for p in (path / "playbooks").glob("*.yml")):
        run([BIN / "ansible-playbook", "-i", "localhost,", "--syntax-check", f"nixl_efa.cluster.{playbook}"],
            consumer_env, release_dir)  # fmt: skip
