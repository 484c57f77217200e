# -*- coding: utf-8 -*-
"""make release VERSION=x.y.z on a throw-away clone, never on this working tree.

The clone is this repository's history plus this working tree's files (what git sees: tracked
and untracked-but-not-ignored), committed there, so the Makefile and fragments under test are the
ones about to be committed. It shares this virtual environment (a link, kept out of git's view),
so make does not build one.
"""

import os
import pathlib
import subprocess
import sys
import tarfile
import time

import yaml
from release_helpers import ROOT

VERSION = "0.1.0"
GIT = ["git", "-c", "user.name=release test", "-c", "user.email=release-test@localhost", "-c", "commit.gpgsign=false"]


def _run(command, cwd, env=None, check=True):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)
    if check:
        assert result.returncode == 0, f"{command}: rc={result.returncode}\n{(result.stdout + result.stderr)[-8000:]}"
    return result


def _clone(tmp_path):
    clone = tmp_path / "repo"
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], tmp_path)
    # Overlay the working tree: its files as git sees them, deleted tracked files removed.
    listed = _run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT).stdout
    names = [n for n in listed.split("\0") if n]
    present = [n for n in names if os.path.lexists(ROOT / n)]
    _run(["git", "rm", "-r", "--quiet", "--cached", "--ignore-unmatch", "."], clone)
    for path in list(clone.iterdir()):
        if path.name != ".git":
            _run(["rm", "-rf", str(path)], clone)
    archive = subprocess.run(["tar", "-cf", "-", "--null", "-T", "-"], cwd=ROOT, input="\0".join(present).encode(),
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-xf", "-"], cwd=clone, input=archive, check=True)
    _run([*GIT, "add", "-A"], clone)
    _run([*GIT, "commit", "--quiet", "--allow-empty", "-m", "The working tree under test"], clone)
    # This virtual environment, linked as the clone's own, made older than its stamp so make keeps it.
    venv = pathlib.Path(sys.executable).parent.parent
    (clone / venv.name).symlink_to(venv)
    with open(clone / ".git" / "info" / "exclude", "a") as out:
        out.write(f"/{venv.name}\n")
    for requirements in clone.glob("requirements*.txt"):
        os.utime(requirements, (0, 0))
    core = "2.21" if venv.name.endswith("2.21") else "2.19"
    return clone, core


def test_make_release_on_a_clone(tmp_path, timings):
    clone, core = _clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MAKE", "RELEASE_"))}
    env.pop("PYTEST_ADDOPTS", None)
    fragments = sorted(p.name for p in (clone / "changelogs" / "fragments").glob("*.yml"))
    assert fragments, "no fragments to release"

    refused = _run(["make", "release", "VERSION=1.2", f"CORE={core}"], clone, env, check=False)
    assert refused.returncode != 0 and "VERSION=x.y.z" in refused.stdout + refused.stderr
    assert yaml.safe_load((clone / "galaxy.yml").read_text())["version"] != "1.2"

    start = time.monotonic()
    released = _run(["make", "release", f"VERSION={VERSION}", f"CORE={core}"], clone, env)
    timings["make release on a clone"] = time.monotonic() - start
    output = released.stdout + released.stderr

    assert yaml.safe_load((clone / "galaxy.yml").read_text())["version"] == VERSION
    changelog = yaml.safe_load((clone / "changelogs" / "changelog.yaml").read_text())
    assert VERSION in changelog["releases"], changelog
    rst = (clone / "CHANGELOG.rst").read_text()
    assert f"v{VERSION}" in rst and "Minor Changes" in rst, rst[:2000]
    # The release consumed the fragments (keep_fragments: false): they now live in changelog.yaml.
    assert not list((clone / "changelogs" / "fragments").glob("*.yml"))
    assert sorted(changelog["releases"][VERSION]["fragments"]) == fragments

    tarball = clone / "build" / f"nixl_efa-cluster-{VERSION}.tar.gz"
    assert tarball.is_file(), output
    with tarfile.open(tarball) as tar:
        names = set(tar.getnames())
    assert "CHANGELOG.rst" in names and "changelogs/changelog.yaml" in names
    assert " passed" in output and "failed" not in output.split("short test summary")[-1], output[-3000:]

    # A second release on the now dirty tree is refused before it changes anything.
    again = _run(["make", "release", "VERSION=0.1.1", f"CORE={core}"], clone, env, check=False)
    assert again.returncode != 0 and "clean tree" in again.stdout + again.stderr
    assert yaml.safe_load((clone / "galaxy.yml").read_text())["version"] == VERSION
    # And the working tree this test ran from was not touched.
    assert not (ROOT / "CHANGELOG.rst").exists() or (ROOT / "CHANGELOG.rst").stat().st_mtime < start
