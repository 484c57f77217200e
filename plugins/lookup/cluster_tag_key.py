# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: cluster_tag_key
version_added: 0.2.0
short_description: The key of the ownership tag every resource of a cluster carries (nixl-efa:cluster)
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
description:
  - Answers C(nixl-efa:cluster), the key written once in the collection's module_utils. Roles read a found
    resource's tags with it and name it in their messages; to tag a resource, or to filter EC2 describe calls,
    use the P(nixl_efa.cluster.cluster_tag#filter) filter, which gives the whole tag.
  - Takes no terms.
"""

EXAMPLES = r"""
- name: Whose is this secret?
  ansible.builtin.debug:
    msg: "{{ found.secret.tags_dict[lookup('nixl_efa.cluster.cluster_tag_key')] | default('nobody') }}"
"""

RETURN = r"""
_raw:
  description: The tag key, one element.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import CLUSTER_TAG


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        if terms:
            raise AnsibleLookupError("cluster_tag_key takes no terms")
        return [CLUSTER_TAG]
