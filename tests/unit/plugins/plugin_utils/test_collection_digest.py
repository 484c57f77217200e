# -*- coding: utf-8 -*-
"""collection_digest: any change of the code that decides provision.yml changes the digest; nothing else does."""

import os

from ansible_collections.nixl_efa.cluster.plugins.lookup.collection_digest import LookupModule
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils import collection_digest


def tree(root):
    files = (("roles", "r/tasks/main.yml", "a"), ("plugins", "modules/m.py", "b"), ("docs", "x.md", "c"))
    for part, name, text in files:
        path = root / part / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_same_tree_same_digest_and_docs_do_not_count(tmp_path):
    root = tree(tmp_path)
    first = collection_digest.tree_digest(str(root))
    (root / "docs" / "x.md").write_text("changed")
    cache = root / "plugins" / "modules" / "__pycache__"
    cache.mkdir()
    (cache / "m.cpython-311.pyc").write_bytes(b"\0")
    assert collection_digest.tree_digest(str(root)) == first and len(first) == 64


def test_a_changed_added_or_renamed_file_changes_the_digest(tmp_path):
    root = tree(tmp_path)
    first = collection_digest.tree_digest(str(root))
    (root / "roles" / "r" / "tasks" / "main.yml").write_text("a2")
    edited = collection_digest.tree_digest(str(root))
    (root / "roles" / "r" / "tasks" / "main.yml").rename(root / "roles" / "r" / "tasks" / "other.yml")
    renamed = collection_digest.tree_digest(str(root))
    (root / "meta").mkdir()
    (root / "meta" / "runtime.yml").write_text("---")
    added = collection_digest.tree_digest(str(root))
    assert len({first, edited, renamed, added}) == 4


def test_the_lookup_digests_this_collection():
    root = collection_digest.collection_root()
    assert LookupModule().run([], variables={}) == [collection_digest.tree_digest(root)]
    assert all(os.path.isdir(os.path.join(root, part)) for part in collection_digest.PARTS)
