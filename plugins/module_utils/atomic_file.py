# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Replacing a file atomically: the one way the collection writes a file a reader may be reading.

Used by local_fact (a role's local fact), node_files (a node role's files) and the validation_plots action
(the report's PNGs on the controller): a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile


def replace_file(path, data, mode, uid=None, gid=None):
    """Replace path with data (bytes): a temporary file beside it gets the data, the owner (when uid or gid is
    given) and the mode, then is renamed over path; on any failure the temporary file is removed."""
    directory = os.path.dirname(path) or "."
    handle, temporary = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        if uid is not None or gid is not None:
            os.chown(temporary, -1 if uid is None else uid, -1 if gid is None else gid)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
