# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A role's local fact on a node: <facts dir>/<name>.fact as JSON, written only when it differs.

The one home of the facts directory and of the fact files' format for the node roles (the
local_fact module) and of where the readers look (service_node_info, the validation probe).
"""

from __future__ import annotations

import json
import os
import re

from ansible_collections.nixl_efa.cluster.plugins.module_utils.atomic_file import replace_file

FACTS_DIR = "/etc/ansible/facts.d"
NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,64}$")


class LocalFactError(Exception):
    pass


def fact_path(name, facts_dir=FACTS_DIR):
    """Where the fact of that name lives: <facts_dir>/<name>.fact."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise LocalFactError(f"name must be 1-64 lowercase letters, digits or underscores, got {name!r}")
    return os.path.join(facts_dir, f"{name}.fact")


def fact_text(content):
    """The file's text: sorted keys, four-space indent, a final newline (as to_nice_json writes it)."""
    return json.dumps(content, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise LocalFactError(f"cannot read {path}: {e}") from e


def _same(text, content):
    try:
        return json.loads(text) == json.loads(json.dumps(content))
    except ValueError:
        return False


def write_fact(facts_dir, name, content, check_mode=False):
    """Write the fact when its JSON differs; returns changed, path, fact, text and before (the old text)."""
    path = fact_path(name, facts_dir)
    try:
        text = fact_text(content)
    except (TypeError, ValueError) as e:
        raise LocalFactError(f"content of {name} is not JSON: {e}") from e
    if os.path.exists(facts_dir) and not os.path.isdir(facts_dir):
        raise LocalFactError(f"{facts_dir} exists and is not a directory")
    before = _read(path)
    changed = before is None or not _same(before, content)
    if changed and not check_mode:
        try:
            os.makedirs(facts_dir, mode=0o755, exist_ok=True)
            replace_file(path, text.encode("utf-8"), 0o644)
        except OSError as e:
            raise LocalFactError(f"cannot write {path}: {e}") from e
    return {"changed": changed, "path": path, "fact": content, "text": text, "before": before or ""}


def read_facts(facts_dir, prefix):
    """{name: fact} of every <facts_dir>/<prefix>*.fact; a file that is not JSON gives {"error": ...}."""
    facts = {}
    try:
        names = sorted(n for n in os.listdir(facts_dir) if n.startswith(prefix) and n.endswith(".fact"))
    except OSError:
        return facts
    for file_name in names:
        path = os.path.join(facts_dir, file_name)
        try:
            with open(path, encoding="utf-8") as handle:
                facts[file_name[: -len(".fact")]] = json.load(handle)
        except (OSError, ValueError) as e:
            facts[file_name[: -len(".fact")]] = {"error": f"{path}: {e}"}
    return facts
