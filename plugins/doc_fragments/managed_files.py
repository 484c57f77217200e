# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # The probes' reading of what a node role manages (efa_node_info, nixl_node_info, service_node_info).
    DOCUMENTATION = r"""
options:
  managed_files:
    description:
      - Paths whose state to read in the same task (owner, group, mode, whether a directory, sha1 of a regular
        file's bytes), returned as RV(managed_files).
      - The node roles list the files, directories and fact files they manage (the
        P(nixl_efa.cluster.node_files_paths#filter) filter), compare the answer with what they want
        (P(nixl_efa.cluster.node_files_pending#filter)) and run M(nixl_efa.cluster.node_files) only when
        something differs, so a converged node costs the probe alone.
    type: list
    elements: path
    default: []
"""
