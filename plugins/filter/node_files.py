# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of the node roles' one write: which paths a probe reads, and what needs writing."""

from ansible.errors import AnsibleFilterError

from ansible_collections.nixl_efa.cluster.plugins.module_utils import local_fact
from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_files


def node_files_paths(paths, fact_names=None, facts_dir=local_fact.FACTS_DIR):
    """The paths a probe reads (managed_files) for these files and local facts."""
    try:
        fact_paths = [local_fact.fact_path(name, facts_dir) for name in fact_names or []]
    except local_fact.LocalFactError as e:
        raise AnsibleFilterError(str(e)) from e
    return [str(path) for path in paths or []] + ([facts_dir] if fact_paths else []) + fact_paths


def node_files_pending(files, managed, facts=None, facts_dir=local_fact.FACTS_DIR):
    """{path: what differs} of the files and facts that need writing, against the probe's managed_files."""
    try:
        return node_files.pending(files, managed, facts, facts_dir)
    except (node_files.NodeFilesError, local_fact.LocalFactError) as e:
        raise AnsibleFilterError(str(e)) from e


class FilterModule:
    """The node roles' files."""

    def filters(self):
        return {"node_files_paths": node_files_paths, "node_files_pending": node_files_pending}
