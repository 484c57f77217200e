# -*- coding: utf-8 -*-
"""node_files end to end (main() on this machine, under tmp_path), its rules in module_utils, and the
controller's node_files_pending filter agreeing with what the module writes."""

import grp
import json
import os
import pwd
import stat

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.nixl_efa.cluster.plugins.filter import node_files as node_files_filter
from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_files
from ansible_collections.nixl_efa.cluster.plugins.modules import node_files as module

ME = pwd.getpwuid(os.getuid()).pw_name
MY_GROUP = grp.getgrgid(os.getgid()).gr_name
FACT = {"version": "0.9.0", "backends": {"UCX": {"loadable": True}}}


def _files(tmp_path):
    return [
        {"path": str(tmp_path / "lib"), "state": "directory", "owner": ME, "group": MY_GROUP, "mode": "0750"},
        {
            "path": str(tmp_path / "lib/env.sh"),
            "content": "export A=1\n",
            "owner": ME,
            "group": MY_GROUP,
            "mode": "0600",
        },
        {"path": str(tmp_path / "unit.service"), "content": "[Unit]\nDescription=ü\n", "owner": ME, "group": MY_GROUP},
    ]


def _args(tmp_path, **extra):
    return dict(
        {"files": _files(tmp_path), "facts": {"nixl_efa_nixl": FACT}, "facts_dir": str(tmp_path / "facts.d")}, **extra
    )


def _probe(tmp_path):
    """What a probe's managed_files answers for the paths node_files_paths lists."""
    paths = node_files_filter.node_files_paths(
        [f["path"] for f in _files(tmp_path)], ["nixl_efa_nixl"], facts_dir=str(tmp_path / "facts.d")
    )
    return node_files.states(paths)


def _pending(tmp_path, files=None, facts=None):
    return node_files_filter.node_files_pending(
        files if files is not None else _files(tmp_path),
        _probe(tmp_path),
        facts if facts is not None else {"nixl_efa_nixl": FACT},
        facts_dir=str(tmp_path / "facts.d"),
    )


def test_writes_everything_once_then_nothing_and_the_filter_agrees(run_module, tmp_path):
    # Root is not needed for files this user owns (the roles run it with become, as root).
    assert sorted(_pending(tmp_path)) == sorted(
        [f["path"] for f in _files(tmp_path)]
        + [str(tmp_path / "facts.d"), str(tmp_path / "facts.d/nixl_efa_nixl.fact")]
    )
    first = run_module(module, _args(tmp_path), aws=False)
    assert not first["failed"] and first["changed"] is True, first
    assert all(v == ["missing"] for v in first["changed_paths"].values())
    assert (tmp_path / "lib/env.sh").read_text() == "export A=1\n"
    assert stat.S_IMODE((tmp_path / "lib/env.sh").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "lib").stat().st_mode) == 0o750
    assert (tmp_path / "unit.service").read_text(encoding="utf-8").endswith("ü\n")
    assert json.loads((tmp_path / "facts.d/nixl_efa_nixl.fact").read_text()) == FACT
    assert sorted(p.name for p in (tmp_path / "lib").iterdir()) == ["env.sh"]  # no temporary file left
    assert _pending(tmp_path) == {}
    second = run_module(module, _args(tmp_path), aws=False)
    assert second["changed"] is False and second["changed_paths"] == {}


def test_only_what_differs_is_written_and_named(run_module, tmp_path):
    run_module(module, _args(tmp_path), aws=False)
    os.chmod(tmp_path / "lib/env.sh", 0o644)
    (tmp_path / "unit.service").write_text("edited\n")
    fact = dict(FACT, version="1.0.0")
    expected = {
        str(tmp_path / "lib/env.sh"): ["mode"],
        str(tmp_path / "unit.service"): ["content"],
        str(tmp_path / "facts.d/nixl_efa_nixl.fact"): ["content"],
    }
    assert _pending(tmp_path, facts={"nixl_efa_nixl": fact}) == expected
    result = run_module(module, _args(tmp_path, facts={"nixl_efa_nixl": fact}), aws=False)
    assert result["changed_paths"] == expected
    assert stat.S_IMODE((tmp_path / "lib/env.sh").stat().st_mode) == 0o600
    assert json.loads((tmp_path / "facts.d/nixl_efa_nixl.fact").read_text())["version"] == "1.0.0"


def test_check_mode_and_diff_write_nothing_and_show_no_content(run_module, tmp_path):
    result = run_module(module, _args(tmp_path, _ansible_diff=True), check_mode=True, aws=False)
    assert result["changed"] is True and not (tmp_path / "lib").exists() and not (tmp_path / "facts.d").exists()
    assert str(tmp_path / "lib/env.sh") + ": missing" in result["diff"]["before"]
    assert "export A=1" not in json.dumps(result)


def test_create_only_directories_are_left_as_they_are(run_module, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    files = [
        {"path": str(shared), "state": "directory", "mode": "0755", "create_only": True, "owner": ME, "group": MY_GROUP}
    ]
    assert node_files.pending(files, node_files.states([str(shared)])) == {}
    assert run_module(module, {"files": files}, aws=False)["changed"] is False
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700


def test_refusals_name_the_path_and_the_rule(run_module, tmp_path):
    (tmp_path / "dir").mkdir()
    wrong_type = run_module(
        module, {"files": [{"path": str(tmp_path / "dir"), "content": "x", "owner": ME, "group": MY_GROUP}]}, aws=False
    )
    assert wrong_type["failed"] and "exists and is not a file" in wrong_type["msg"]
    no_user = run_module(
        module, {"files": [{"path": str(tmp_path / "f"), "content": "x", "owner": "no-such-user-x"}]}, aws=False
    )
    assert no_user["failed"] and "no user no-such-user-x" in no_user["msg"] and not (tmp_path / "f").exists()
    for entry, words in (
        ({"path": "relative/x", "content": ""}, "must be absolute"),
        ({"path": "/x", "mode": "rw-r--r--", "content": ""}, "octal digits"),
        ({"path": "/x"}, "needs its content"),
        ({"path": "/x", "state": "directory", "content": "x"}, "has no content"),
    ):
        with pytest.raises(node_files.NodeFilesError, match=words):
            node_files.normalize(entry)
    with pytest.raises(AnsibleFilterError, match="given twice"):
        node_files_filter.node_files_pending([{"path": "/x", "content": ""}, {"path": "/x", "content": "y"}], {})
    with pytest.raises(AnsibleFilterError, match="lowercase"):
        node_files_filter.node_files_paths([], ["Bad-Name"])


def test_a_path_the_probe_did_not_read_is_written_not_skipped():
    assert node_files.pending([{"path": "/etc/x", "content": "a"}], {}) == {"/etc/x": ["missing"]}
    wanted = node_files.normalize({"path": "/etc/x", "content": "a"})
    same = {"owner": "root", "group": "root", "mode": "0644", "dir": False, "sha1": node_files.sha1_text("a")}
    assert node_files.needs_write(wanted, same) == []
    assert node_files.needs_write(wanted, dict(same, dir=True)) == ["type"]
    assert node_files.needs_write(wanted, dict(same, sha1="0", owner="x")) == ["content", "owner"]
