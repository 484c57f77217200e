# -*- coding: utf-8 -*-
"""A changelog fragment per change.

Every commit since the last release that changes what users get (plugins/, roles/, playbooks/,
meta/ or galaxy.yml) must add or change a file under changelogs/fragments/ in the same commit, or
say in its message, on a line of its own, `Changelog: none` (or `Changelog: trivial`) when it
changes nothing a user could notice. A fragment with only a `trivial:` section is the other way to
record such a change (antsibull-changelog keeps it out of CHANGELOG.rst).

"Since the last release": the last commit that changed changelogs/changelog.yaml with a release in
it (only `make release` writes that file). Before the first release, the rule starts after
BASELINE, the last commit made before this test existed: the history up to it was written
without the rule (many of its commits have no fragment; changelogs/fragments/0.1.0-*.yml and the
fragments of each feature cover them), and it is not rewritten.
"""

import subprocess

import pytest
import yaml
from release_helpers import ROOT

BASELINE = "6e1e0bdf6882031a4e28fcda87306790fcc89d1c"
USER_FACING = ("plugins/", "roles/", "playbooks/", "meta/")
MARKERS = ("changelog: none", "changelog: trivial")


def _git(*args):
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def needs_fragment(files, message):
    """Why this commit breaks the rule, or None: the rule itself, on one commit's files and message."""
    user_facing = [f for f in files if f.startswith(USER_FACING) or f == "galaxy.yml"]
    if not user_facing:
        return None
    if any(f.startswith("changelogs/fragments/") and f.endswith((".yml", ".yaml")) for f in files):
        return None
    if any(line.strip().lower() in MARKERS for line in message.splitlines()):
        return None
    return f"changes {', '.join(user_facing[:5])} without a changelog fragment"


def last_release():
    """The commit that recorded the latest release in changelogs/changelog.yaml, or None."""
    for commit in _git("log", "--format=%H", "--", "changelogs/changelog.yaml").split():
        text = _git("show", f"{commit}:changelogs/changelog.yaml")
        if (yaml.safe_load(text) or {}).get("releases"):
            return commit
    return None


@pytest.mark.parametrize(
    ("files", "message", "broken"),
    [
        (["roles/efa/tasks/main.yml"], "efa: fix", True),
        (["roles/efa/tasks/main.yml", "changelogs/fragments/efa-fix.yml"], "efa: fix", False),
        (["galaxy.yml"], "tags", True),
        (["plugins/modules/capacity_block.py"], "typo in a comment\n\nChangelog: none\n", False),
        (["meta/runtime.yml"], "x\n\nchangelog: trivial", False),
        (["tests/unit/test_x.py", "Makefile", "docs/design.md"], "tests only", False),
        (["roles/efa/tasks/main.yml", "changelogs/fragments/README.md"], "not a fragment", True),
    ],
)
def test_the_rule(files, message, broken):
    assert (needs_fragment(files, message) is not None) == broken


def test_every_change_since_the_last_release_has_a_fragment():
    if _git("rev-parse", "--is-shallow-repository").strip() == "true":
        pytest.skip("a shallow clone has not got the history to check (git fetch --unshallow)")
    base = last_release() or BASELINE
    if subprocess.run(["git", "cat-file", "-e", f"{base}^{{commit}}"], cwd=ROOT, check=False).returncode:
        pytest.skip(f"the baseline commit {base} is not in this clone's history")
    broken = []
    for commit in _git("rev-list", "--no-merges", f"{base}..HEAD").split():
        files = _git("diff-tree", "--no-commit-id", "--name-only", "-r", "--root", commit).split("\n")
        reason = needs_fragment([f for f in files if f], _git("log", "-1", "--format=%B", commit))
        if reason:
            broken.append(f"{commit[:10]} {_git('log', '-1', '--format=%s', commit).strip()[:70]}: {reason}")
    assert not broken, (
        "commits since the last release without a changelog fragment (add changelogs/fragments/<name>.yml, "
        "or a line 'Changelog: none' in the message of a commit users cannot notice):\n" + "\n".join(broken)
    )
