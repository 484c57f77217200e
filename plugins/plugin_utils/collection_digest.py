# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A digest of the collection's own code, for provision.yml's fast path (the collection_digest lookup).

A converged run is skipped only when nothing that decides what the roles would do has changed: the inputs,
the resources (provision_state_info's digest) and the code that turns one into the other. The code is this
collection's playbooks, roles, plugins and meta as installed; any edit, upgrade or downgrade of it changes
the digest and sends the next run down the full path once.
"""

import hashlib
import os

# What decides what provision.yml does; docs, tests and changelogs do not.
PARTS = ("meta", "playbooks", "plugins", "roles")
# Byte-compiled files follow their sources.
SKIPPED_SUFFIXES = (".pyc", ".pyo")


def collection_root():
    """The collection this file belongs to (plugins/plugin_utils/ is two levels below its root)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tree_digest(root, parts=PARTS):
    """sha256 over the relative path and content of every file under root/<part>, in a fixed order, as hex."""
    digest = hashlib.sha256()
    for part in sorted(parts):
        top = os.path.join(root, part)
        for directory, subdirectories, files in os.walk(top):
            subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(SKIPPED_SUFFIXES):
                    continue
                path = os.path.join(directory, name)
                if not os.path.isfile(path):
                    continue
                digest.update(os.path.relpath(path, root).replace(os.sep, "/").encode("utf-8") + b"\0")
                with open(path, "rb") as handle:
                    digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()
