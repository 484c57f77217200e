#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: local_fact
version_added: 0.2.0
short_description: Write a role's local fact on a node in one task
description:
  - Writes O(content) as JSON to C(<facts_dir>/<name>.fact), the file Ansible's setup module reads into
    C(ansible_local.<name>), creating O(facts_dir) when it is missing.
  - The node roles of this collection (efa, nccl, nixl, mlflow, vllm, ray) record what they installed this
    way, and the validation role reads it. One task instead of a directory task and a copy (which over
    Session Manager costs a transfer and a stat besides the module itself).
  - The file is rewritten only when its JSON differs from O(content) (formatting aside), atomically, root-owned
    with mode C(0644); the directory is created with mode C(0755).
  - Python standard library only (Python 3.8 and later on the node); it needs no AWS credentials.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  name:
    description:
      - The fact's name, lowercase letters, digits and underscores (V(nixl_efa_nixl)); the file is C(<name>.fact).
    type: str
    required: true
  content:
    description: The fact, a dict that JSON can represent.
    type: dict
    required: true
  facts_dir:
    description: The local facts directory.
    type: path
    default: /etc/ansible/facts.d
attributes:
  check_mode:
    support: full
    details: Reads the file and says whether it would be written.
  diff_mode:
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
notes:
  - Needs root on the node to write under C(/etc/ansible/facts.d) (C(become)).
seealso:
  - module: nixl_efa.cluster.service_node_info
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
"""

EXAMPLES = r"""
- name: Record what the nixl role installed
  nixl_efa.cluster.local_fact:
    name: nixl_efa_nixl
    content:
      version: "0.9.0"
      python: /opt/nixl-efa/venvs/nixl/bin/python
  become: true
"""

RETURN = r"""
path:
  description: The fact file.
  returned: always
  type: str
  sample: /etc/ansible/facts.d/nixl_efa_nixl.fact
fact:
  description: The fact as written (O(content)).
  returned: always
  type: dict
  sample: {"version": "0.9.0"}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nixl_efa.cluster.plugins.module_utils import local_fact


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            content=dict(type="dict", required=True),
            facts_dir=dict(type="path", default=local_fact.FACTS_DIR),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = local_fact.write_fact(
            params["facts_dir"], params["name"], params["content"], check_mode=module.check_mode
        )
    except local_fact.LocalFactError as e:
        module.fail_json(msg=str(e))
    if module._diff:
        result["diff"] = {"before": result.pop("before"), "after": result["text"]}
    else:
        result.pop("before")
    result.pop("text")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
