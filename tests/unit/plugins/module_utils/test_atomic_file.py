# -*- coding: utf-8 -*-
"""replace_file: the new content and mode in place at once, the owner when asked, no temporary file left."""

import os

import pytest

from ansible_collections.nixl_efa.cluster.plugins.module_utils import atomic_file


def test_replaces_with_the_data_and_mode_and_leaves_nothing_beside(tmp_path):
    path = tmp_path / "unit.service"
    path.write_text("old")
    atomic_file.replace_file(str(path), b"new", 0o640)
    assert path.read_bytes() == b"new" and (path.stat().st_mode & 0o777) == 0o640
    assert os.listdir(tmp_path) == ["unit.service"]


def test_sets_the_owner_only_when_asked(tmp_path, monkeypatch):
    chowned = []
    monkeypatch.setattr(atomic_file.os, "chown", lambda path, uid, gid: chowned.append((uid, gid)))
    atomic_file.replace_file(str(tmp_path / "a"), b"", 0o600)
    atomic_file.replace_file(str(tmp_path / "b"), b"", 0o600, uid=0, gid=0)
    atomic_file.replace_file(str(tmp_path / "c"), b"", 0o600, gid=4)
    assert chowned == [(0, 0), (-1, 4)]


def test_a_failure_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "fact.fact"
    path.write_text("{}")

    def refuse(source, target):
        raise PermissionError("refused")

    monkeypatch.setattr(atomic_file.os, "replace", refuse)
    with pytest.raises(PermissionError):
        atomic_file.replace_file(str(path), b'{"a": 1}', 0o644)
    assert path.read_text() == "{}" and os.listdir(tmp_path) == ["fact.fact"]
