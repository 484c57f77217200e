# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: collection_digest
version_added: 0.3.0
short_description: A digest of this collection's playbooks, roles, plugins and meta, as installed
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
description:
  - Answers the SHA-256, as hex, of the relative path and content of every file under the collection's
    C(meta/), C(playbooks/), C(plugins/) and C(roles/) directories (byte-compiled files left out).
  - C(playbooks/provision.yml) keeps it beside the digest of the cluster's resources, so that any change of the
    collection (an upgrade, a downgrade, a local edit) sends the next run down the full path, never the fast path.
  - Takes no terms.
"""

EXAMPLES = r"""
- name: Fingerprint the collection in use
  ansible.builtin.debug:
    msg: "{{ lookup('nixl_efa.cluster.collection_digest') }}"
"""

RETURN = r"""
_raw:
  description: The digest, one element.
  type: list
  elements: str
"""

from ansible.plugins.lookup import LookupBase

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.collection_digest import collection_root
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.collection_digest import tree_digest


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [tree_digest(collection_root())]
