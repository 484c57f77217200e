# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action of nixl_efa.cluster.validation_plots: draws a validation report's plots and writes them on the controller.

The drawing is plugin_utils/validation/plots.py's; this writes the PNGs (each only when its bytes changed, through
a file beside it renamed into place) and returns what the role logs into MLflow. Its documentation is
plugins/modules/validation_plots.py.
"""

import base64
import hashlib
import os
import struct

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.nixl_efa.cluster.plugins.module_utils.atomic_file import replace_file
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plots import draw_plots

ARGUMENT_SPEC = {
    "report": {"type": "dict", "required": True},
    "dest": {"type": "path", "required": True},
    "prefix": {"type": "str", "required": True},
    "artifact_dir": {"type": "str", "default": "plots"},
}


def png_size(data):
    """(width, height) from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def write_if_changed(path, data):
    """Write data to path unless it holds exactly that already; True when it wrote."""
    try:
        with open(path, "rb") as existing:
            if existing.read() == data:
                return False
    except FileNotFoundError:
        pass
    replace_file(path, data, 0o644)
    return True


class ActionModule(ActionBase):
    """Draws on the controller; it needs no connection to the host."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        prefix, artifact_dir = args["prefix"], args["artifact_dir"].strip("/")
        if not prefix or "/" in prefix or prefix in (".", ".."):
            raise AnsibleActionFail(f"prefix must be a file name, without '/': {prefix!r}")
        if not artifact_dir or ".." in artifact_dir.split("/"):
            raise AnsibleActionFail(f"artifact_dir must be a relative folder without '..': {args['artifact_dir']!r}")
        dest = args["dest"]
        drawn = draw_plots(args["report"])
        check_mode = bool(self._task.check_mode)
        if drawn["plots"] and not check_mode:
            os.makedirs(dest, mode=0o755, exist_ok=True)
        plots, artifacts, changed = [], {}, False
        for plot in drawn["plots"]:
            data = plot["png"]
            width, height = png_size(data)
            name = f"{prefix}-{plot['id']}.png"
            path = os.path.join(dest, name)
            if check_mode:
                try:
                    with open(path, "rb") as existing:
                        changed = changed or existing.read() != data
                except FileNotFoundError:
                    changed = True
            else:
                changed = write_if_changed(path, data) or changed
            artifact = f"{artifact_dir}/{plot['id']}.png"
            artifacts[artifact] = base64.b64encode(data).decode("ascii")
            plots.append(
                {
                    "id": plot["id"],
                    "title": plot["title"],
                    "check": plot["check"],
                    "file": name,
                    "path": path,
                    "artifact": artifact,
                    "bytes": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "width": width,
                    "height": height,
                }
            )
        result.update(
            changed=changed,
            plots=plots,
            not_drawn=drawn["not_drawn"],
            artifacts=artifacts,
            matplotlib=drawn["matplotlib"],
            unavailable=drawn["unavailable"],
        )
        return result
