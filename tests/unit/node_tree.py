# -*- coding: utf-8 -*-
"""A fake node's file tree for the efa_node_info tests: files written under a temporary root."""

import os


def write(root, path, text="", mode=0o644):
    """Write text at the node path `path` under root (parents made), with mode; return the local path."""
    local = os.path.join(str(root), path.lstrip("/"))
    os.makedirs(os.path.dirname(local), exist_ok=True)
    with open(local, "w") as handle:
        handle.write(text)
    os.chmod(local, mode)
    return local
