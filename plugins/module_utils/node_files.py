# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A node role's files, directories and local fact, read by its probe and written in one task.

Over Session Manager every task is a round trip of seconds, and a template or copy task costs two
modules (a stat, then the copy). So a node role reads the state of everything it manages in its
probe (`managed_files`: owner, group, mode and sha1 of each path), the controller compares that
with what it wants (`pending`, the node_files_pending filter) and the role writes only when
something differs, everything in one node_files task. A converged node then costs the probe
alone.

The one home of the rules: what an entry is (`normalize`), what state a path is in (`state`),
when an entry needs writing (`needs_write`) and how it is written (`write`). Local facts become
entries here too (`fact_entries`, the text of module_utils/local_fact.py). The probes and the
node_files module run this on the node (Python standard library only, 3.8 and later); the filter
runs the comparison on the controller.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd

from ansible_collections.nixl_efa.cluster.plugins.module_utils import local_fact
from ansible_collections.nixl_efa.cluster.plugins.module_utils import service_node
from ansible_collections.nixl_efa.cluster.plugins.module_utils.atomic_file import replace_file

STATES = ("file", "directory")
MODE_DIGITS = frozenset("01234567")


class NodeFilesError(Exception):
    pass


def sha1_text(text):
    """sha1 of the text's UTF-8 bytes: what `state` reads from the file written with that text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()  # noqa: S324 (a content check, not security)


def _mode(value, path):
    text = str(value if value is not None else "").strip()
    if text.startswith("0o"):
        text = text[2:]
    if not text or set(text) - MODE_DIGITS or len(text) > 4:
        raise NodeFilesError(f"{path}: mode must be octal digits such as 0644, got {value!r}")
    return text.rjust(4, "0")


def normalize(entry):
    """An entry as the rules use it: path, state (file or directory), content (files), owner, group,
    mode ("0644"), create_only (directories: made when missing, an existing one left as it is)."""
    if not isinstance(entry, dict) or not entry.get("path"):
        raise NodeFilesError(f"every entry needs a path, got {entry!r}")
    path = str(entry["path"])
    if not os.path.isabs(path):
        raise NodeFilesError(f"{path}: the path must be absolute")
    state = entry.get("state") or "file"
    if state not in STATES:
        raise NodeFilesError(f"{path}: state must be file or directory, got {state!r}")
    content = entry.get("content")
    if state == "file" and not isinstance(content, str):
        raise NodeFilesError(f"{path}: a file needs its content as text")
    if state == "directory" and content is not None:
        raise NodeFilesError(f"{path}: a directory has no content")
    default_mode = "0755" if state == "directory" else "0644"
    return {
        "path": path,
        "state": state,
        "content": content,
        "owner": str(entry.get("owner") or "root"),
        "group": str(entry.get("group") or "root"),
        "mode": _mode(entry.get("mode") or default_mode, path),
        "create_only": bool(entry.get("create_only", False)),
    }


def fact_entries(facts, facts_dir=local_fact.FACTS_DIR):
    """Local facts ({name: content}) as file entries: <facts_dir>/<name>.fact, root's, 0644, the facts
    directory made when missing (create_only: a facts directory of other tools is left as it is)."""
    entries = []
    if facts:
        entries.append(
            {
                "path": facts_dir,
                "state": "directory",
                "owner": "root",
                "group": "root",
                "mode": "0755",
                "create_only": True,
                "content": None,
            }
        )
    for name in sorted(facts or {}):
        try:
            text = local_fact.fact_text(facts[name])
        except (TypeError, ValueError) as e:
            raise NodeFilesError(f"fact {name} is not JSON: {e}") from e
        entries.append(normalize({"path": local_fact.fact_path(name, facts_dir), "content": text}))
    return entries


def entries(files, facts=None, facts_dir=local_fact.FACTS_DIR):
    """The files' entries, then the facts'; a path given twice is refused."""
    result = [normalize(entry) for entry in files or []] + fact_entries(facts, facts_dir)
    seen = set()
    for entry in result:
        if entry["path"] in seen:
            raise NodeFilesError(f"{entry['path']} is given twice")
        seen.add(entry["path"])
    return result


def state(path):
    """{"owner", "group", "mode", "dir", "sha1"} of path (links followed; sha1 of a regular file's bytes,
    else None), None when missing: service_node's path_state and file_sha1, the probes' one reading."""
    current = service_node.path_state(path)
    if current is None:
        return None
    return dict(current, sha1=service_node.file_sha1(path) if os.path.isfile(path) else None)


def states(paths):
    """{path: state(path)} for every path."""
    return {str(path): state(str(path)) for path in paths or []}


def needs_write(entry, current):
    """What differs between the entry and the path's current state (a list of words; empty when
    nothing does): missing, type, content, owner, group, mode."""
    if current is None:
        return ["missing"]
    if entry["state"] == "directory":
        if not current.get("dir"):
            return ["type"]
        if entry["create_only"]:
            return []
    elif current.get("dir"):
        return ["type"]
    elif current.get("sha1") != sha1_text(entry["content"]):
        return ["content"] + [k for k in ("owner", "group", "mode") if current.get(k) != entry[k]]
    return [k for k in ("owner", "group", "mode") if current.get(k) != entry[k]]


def pending(files, managed, facts=None, facts_dir=local_fact.FACTS_DIR):
    """{path: what differs} of the entries that need writing, given the probe's managed_files answer.
    A path the probe did not read counts as missing (the role then writes it: never a silent skip)."""
    managed = managed or {}
    result = {}
    for entry in entries(files, facts, facts_dir):
        differs = needs_write(entry, managed.get(entry["path"]))
        if differs:
            result[entry["path"]] = differs
    return result


def _ids(entry):
    try:
        uid = pwd.getpwnam(entry["owner"]).pw_uid
    except KeyError as e:
        raise NodeFilesError(f"{entry['path']}: no user {entry['owner']} on the node") from e
    try:
        gid = grp.getgrnam(entry["group"]).gr_gid
    except KeyError as e:
        raise NodeFilesError(f"{entry['path']}: no group {entry['group']} on the node") from e
    return uid, gid


def write(files, facts=None, facts_dir=local_fact.FACTS_DIR, check_mode=False):
    """Write what differs, in order (a directory before the files in it when listed first); returns
    {"changed", "changed_paths": {path: what differed}}. A file is replaced atomically (a temporary file
    in its directory, then rename), so a reader never sees half of it; only owner, group or mode
    differing is fixed in place. Check mode reads only."""
    wanted = entries(files, facts, facts_dir)
    changed = {}
    for entry in wanted:
        differs = needs_write(entry, state(entry["path"]))
        if not differs:
            continue
        changed[entry["path"]] = differs
        if check_mode:
            continue
        uid, gid = _ids(entry)
        path = entry["path"]
        try:
            if "type" in differs:
                raise NodeFilesError(f"{path} exists and is not a {entry['state']}: left as it is")
            if entry["state"] == "directory":
                if "missing" in differs:
                    os.makedirs(path, exist_ok=True)
            elif "missing" in differs or "content" in differs:
                replace_file(entry["path"], entry["content"].encode("utf-8"), int(entry["mode"], 8), uid, gid)
                continue
            os.chown(path, uid, gid)
            os.chmod(path, int(entry["mode"], 8))
        except OSError as e:
            raise NodeFilesError(f"cannot write {path}: {e}") from e
    return {"changed": bool(changed), "changed_paths": changed}
