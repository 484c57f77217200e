#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: node_files
version_added: 0.3.0
short_description: Write a node role's files, directories and local facts in one task
description:
  - Writes what differs among O(files) (text files and directories with their owner, group and mode) and
    O(facts) (local facts, as M(nixl_efa.cluster.local_fact) writes them), in the order given, in one task.
  - Over Session Manager every task is a round trip of seconds and a template or copy task runs two modules.
    The node roles of this collection read the state of what they manage in their probe (the C(managed_files)
    option of M(nixl_efa.cluster.efa_node_info), M(nixl_efa.cluster.nixl_node_info) and
    M(nixl_efa.cluster.service_node_info)), compare it on the controller with the
    P(nixl_efa.cluster.node_files_pending#filter) filter, and run this module only when something differs.
  - A file is replaced atomically (a temporary file in its directory, then a rename), so a reader never sees
    half of it; when only its owner, group or mode differ they are fixed in place. A path of the other type
    (a directory where a file is wanted) is refused and left as it is.
  - Python standard library only (Python 3.8 and later on the node); it needs no AWS credentials.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  files:
    description: The files and directories, written in this order (list a directory before the files in it).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description: A text file with its O(files[].content), or a directory.
        type: str
        choices: [file, directory]
        default: file
      content:
        description: The file's text (written as UTF-8). Required for a file.
        type: str
      owner:
        description: The owner's user name.
        type: str
        default: root
      group:
        description: The group's name.
        type: str
        default: root
      mode:
        description: Octal mode, such as V(0644) (the default for a file) or V(0755) (for a directory).
        type: str
      create_only:
        description:
          - A directory only; made when missing, and an existing one is left as it is (a directory other tools
            share, such as C(/var/lib/nixl-efa)).
        type: bool
        default: false
  facts:
    description:
      - "Local facts, C({name: content}), each written to C(<facts_dir>/<name>.fact) as JSON (sorted keys),
        root's, mode C(0644); the facts directory is made when missing."
    type: dict
    default: {}
  facts_dir:
    description: The local facts directory.
    type: path
    default: /etc/ansible/facts.d
attributes:
  check_mode:
    support: full
    details: Reads each path and says what would be written.
  diff_mode:
    support: partial
    details: The diff names each path written and what differed (content, owner, group, mode), not the
      content, which may be secret (environment files with keys).
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: posix
notes:
  - Needs root on the node for files owned by other users or under C(/etc) (C(become)).
  - Use C(no_log) on the task when a file's content is secret; the module never returns content.
seealso:
  - module: nixl_efa.cluster.local_fact
  - module: nixl_efa.cluster.service_node_info
  - plugin: nixl_efa.cluster.node_files_pending
    plugin_type: filter
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
"""

EXAMPLES = r"""
- name: The NIXL environment file and the role's fact, when either differs
  nixl_efa.cluster.node_files:
    files:
      - path: /etc/profile.d/nixl.sh
        content: "{{ lookup('ansible.builtin.template', 'nixl.sh.j2') }}"
        mode: "0644"
    facts:
      nixl_efa_nixl: "{{ nixl__fact }}"
  become: true
  when: nixl__pending | length > 0

- name: A service's directories, its unit file and a secret environment file
  nixl_efa.cluster.node_files:
    files:
      - {path: /var/lib/nixl-efa, state: directory, create_only: true}
      - {path: /var/lib/nixl-efa/mlflow, state: directory, owner: mlflow, group: mlflow, mode: "0750"}
      - path: /etc/systemd/system/mlflow.service
        content: "{{ lookup('ansible.builtin.template', 'mlflow.service.j2') }}"
      - {path: /var/lib/nixl-efa/mlflow/auth.env, content: "{{ auth_env }}", mode: "0600"}
  become: true
  no_log: true
"""

RETURN = r"""
changed_paths:
  description: The paths written (or, in check mode, that would be), each with what differed.
  returned: always
  type: dict
  sample: {"/etc/profile.d/nixl.sh": ["content"], "/etc/ansible/facts.d/nixl_efa_nixl.fact": ["missing"]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nixl_efa.cluster.plugins.module_utils import local_fact
from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_files


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    path=dict(type="path", required=True),
                    state=dict(type="str", choices=list(node_files.STATES), default="file"),
                    content=dict(type="str"),
                    owner=dict(type="str", default="root"),
                    group=dict(type="str", default="root"),
                    mode=dict(type="str"),
                    create_only=dict(type="bool", default=False),
                ),
            ),
            facts=dict(type="dict", default={}),
            facts_dir=dict(type="path", default=local_fact.FACTS_DIR),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = node_files.write(params["files"], params["facts"], params["facts_dir"], check_mode=module.check_mode)
    except (node_files.NodeFilesError, local_fact.LocalFactError) as e:
        module.fail_json(msg=str(e))
    if module._diff and result["changed"]:
        result["diff"] = {
            "before": "".join(f"{path}: {' '.join(why)}\n" for path, why in result["changed_paths"].items()),
            "after": "".join(f"{path}: written\n" for path in result["changed_paths"]),
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
