"""galaxy.yml, requirements.yml and the roles' metadata agree with the code and with what the tests run.

- Every collection the roles, playbooks and plugins use (an FQCN such as community.general.dict_kv, or an
  ansible_collections import) is declared in galaxy.yml's dependencies, so an install pulls it.
- requirements.yml lists the same collections, and its ranges admit the versions this test run has (the
  unit gate runs under ansible-core 2.19 and 2.21, whose bundles hold different majors).
- Every role's min_ansible_version is the minimum of meta/runtime.yml's requires_ansible.
"""

from __future__ import annotations

import re
from importlib import import_module
from pathlib import Path

import pytest
import yaml
from ansible.galaxy.dependency_resolution.versioning import meets_requirements

ROOT = Path(__file__).resolve().parents[2]
OWN = {"nixl_efa.cluster", "ansible.builtin", "ansible.legacy"}
# An FQCN in YAML (module, filter, lookup, test, connection) or a Python import of another collection.
USED = re.compile(r"\b(amazon\.aws|community\.[a-z_]+|ansible\.[a-z_]+|cloud\.[a-z_]+)\.[a-z_]+")
IMPORTED = re.compile(r"ansible_collections\.([a-z_]+)\.([a-z_]+)\.")
YAML = [*ROOT.glob("roles/**/*.yml"), *ROOT.glob("playbooks/**/*.yml"), ROOT / "verify_efa.yml"]
PYTHON = list(ROOT.glob("plugins/**/*.py"))


def _galaxy():
    return yaml.safe_load((ROOT / "galaxy.yml").read_text())


def _requirements():
    return {
        c["name"]: c.get("version", "*") for c in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
    }


def _used():
    used = set()
    for path in YAML:
        used.update(match.group(1) for match in USED.finditer(path.read_text()))
    for path in PYTHON:
        used.update(".".join(match.groups()) for match in IMPORTED.finditer(path.read_text()))
    return used - OWN


def _installed(name):
    namespace, collection = name.split(".")
    manifest = Path(import_module(f"ansible_collections.{namespace}.{collection}").__path__[0]) / "MANIFEST.json"
    return yaml.safe_load(manifest.read_text())["collection_info"]["version"]


def test_every_collection_used_is_declared():
    used = _used()
    assert "community.general" in used and "amazon.aws" in used  # the scan sees what the roles use
    assert used <= set(_galaxy()["dependencies"]), used - set(_galaxy()["dependencies"])


def test_requirements_list_the_dependencies():
    assert set(_requirements()) == set(_galaxy()["dependencies"])


@pytest.mark.parametrize("name", sorted(yaml.safe_load((ROOT / "galaxy.yml").read_text())["dependencies"]))
def test_the_ranges_admit_the_versions_under_test(name):
    version = _installed(name)
    assert meets_requirements(version, _requirements()[name]), (name, version, _requirements()[name])
    assert meets_requirements(version, _galaxy()["dependencies"][name]), (name, version)


def test_roles_need_the_ansible_core_the_collection_needs():
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    minimum = re.match(r"^>=(\d+\.\d+)", runtime).group(1)
    versions = {path.parts[-3]: str(yaml.safe_load(path.read_text())["galaxy_info"]["min_ansible_version"])
                for path in ROOT.glob("roles/*/meta/main.yml")}  # fmt: skip
    assert versions and set(versions.values()) == {minimum}, versions
