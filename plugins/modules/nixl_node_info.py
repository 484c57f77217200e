#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: nixl_node_info
version_added: 0.2.0
short_description: Report what the nixl role needs to know about a node, NIXL's backends included, in one task
description:
  - Runs on a cluster node and reads, in one task, the CUDA major the NIXL wheel must match, the Debian
    packages asked for, the EFA installer's libfabric and its C(efa) provider, the distributions in the NIXL
    venv and, when the venv exists, whether C(nixl_cu<major>) imports and an agent with each of
    O(backends) can be created.
  - The backends are tried by the venv's interpreter with the EFA installer's and CUDA's libraries on
    C(LD_LIBRARY_PATH), as the nixl role's environment file sets it. For a backend that does not load the
    answer says why, with what the dynamic loader reports of the plugin (missing libraries and symbol
    versions).
  - Only reads; it never changes the node. Python standard library only on the node; no AWS credentials.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  venv:
    description:
      - The NIXL venv. When C(<venv>/bin/python) is not executable (no venv yet) RV(installed) is empty and the
        backends are not tried.
    type: path
    required: true
  cuda_major:
    description:
      - The CUDA major of the wheel to use (C(nixl-cu12) or C(nixl-cu13)); V(0) detects it.
    type: int
    default: 0
    choices: [0, 12, 13]
  default_cuda_major:
    description:
      - The CUDA major when none is given or detected (a node without CUDA).
    type: int
    default: 12
    choices: [12, 13]
  debs:
    description:
      - Debian packages whose installed state to report in RV(debs).
    type: list
    elements: str
    default: []
  distributions:
    description:
      - Distributions whose versions in the venv to report in RV(installed), besides C(nixl-cu12) and
        C(nixl-cu13), which are always reported.
    type: list
    elements: str
    default: []
  backends:
    description:
      - NIXL backends to try, one agent each (for example V(UCX), V(LIBFABRIC)).
    type: list
    elements: str
    default: []
  efa_prefix:
    description:
      - Where the EFA installer put libfabric.
    type: path
    default: /opt/amazon/efa
  cuda_lib_dir:
    description:
      - The CUDA toolkit's library directory.
    type: path
    default: /usr/local/cuda/lib64
  cuda_version_json:
    description:
      - The CUDA toolkit's C(version.json), the first place the CUDA major is read from.
    type: path
    default: /usr/local/cuda/version.json
  nvidia_smi:
    description:
      - The C(nvidia-smi) command, whose banner gives the newest CUDA the driver supports when there is no toolkit.
    type: str
    default: nvidia-smi
  plugin_dir:
    description:
      - A NIXL plugin directory to use instead of the wheel's own (C(NIXL_PLUGIN_DIR)); empty uses the wheel's.
    type: path
    default: ""
  command_timeout:
    description:
      - Seconds each command may run before it is stopped, when the node has the C(timeout) utility.
    type: int
    default: 60
notes:
  - The backend check runs as C(<venv>/bin/python -c <code>); its code is in the collection's
    C(module_utils/nixl_node.py).
seealso:
  - module: nixl_efa.cluster.efa_node_info
  - module: nixl_efa.cluster.service_node_info
extends_documentation_fragment:
  - nixl_efa.cluster.managed_files
  - nixl_efa.cluster.attributes
  - nixl_efa.cluster.attributes.info_module
"""

EXAMPLES = r"""
- name: Read the node for NIXL
  nixl_efa.cluster.nixl_node_info:
    venv: /opt/nixl-efa/venvs/nixl
    debs: [python3-venv, python3-packaging, libhwloc15]
    distributions: [nixl, numpy]
    backends: [UCX, LIBFABRIC]
  register: nixl_node

- name: Install the wheel for the node's CUDA
  ansible.builtin.pip:
    name: "nixl-cu{{ nixl_node.cuda_major }}==1.5.1"
    virtualenv: /opt/nixl-efa/venvs/nixl
  when: nixl_node.installed['nixl-cu' ~ nixl_node.cuda_major] | default('') != '1.5.1'
"""

RETURN = r"""
managed_files:
  description:
    - The state of each path of O(managed_files), null when it is missing.
  returned: always
  type: dict
  sample:
    /etc/profile.d/nixl.sh: {"owner": "root", "group": "root", "mode": "0644", "dir": false,
                             "sha1": "3f786850e387550fdab836ed7e6dc881de23001b"}
cuda_major:
  description: The CUDA major the wheel must match.
  returned: always
  type: int
  sample: 12
cuda_source:
  description:
    - Where RV(cuda_major) comes from, C(override) (O(cuda_major)), the path of C(version.json), C(nvidia-smi),
      or C(default) (O(default_cuda_major)).
  returned: always
  type: str
  sample: /usr/local/cuda/version.json
cuda_detected:
  description: The CUDA major found on the node, whatever the override; null without CUDA.
  returned: always
  type: int
  sample: 12
debs:
  description: For each of O(debs), whether it is installed.
  returned: always
  type: dict
  sample: {"python3-venv": true, "libhwloc15": false}
efa_lib_dir:
  description: Whether the EFA installer's library directory exists.
  returned: always
  type: bool
cuda_lib_dir:
  description: Whether O(cuda_lib_dir) exists.
  returned: always
  type: bool
efa_provider:
  description: Whether the EFA installer's C(fi_info -p efa) lists the efa provider.
  returned: always
  type: bool
in_venv:
  description: Whether the venv's interpreter exists.
  returned: always
  type: bool
installed:
  description: Versions of O(distributions), C(nixl-cu12) and C(nixl-cu13) in the venv; missing ones are left out.
  returned: always
  type: dict
  sample: {"nixl": "1.5.1", "nixl-cu12": "1.5.1", "numpy": "2.2.6"}
ld_library_path:
  description: The C(LD_LIBRARY_PATH) the backends were tried with.
  returned: always
  type: str
  sample: /opt/amazon/efa/lib:/usr/local/cuda/lib64
import_name:
  description: The Python package of the wanted wheel, C(nixl_cu<cuda_major>).
  returned: always
  type: str
  sample: nixl_cu12
plugin_dir:
  description: The directory NIXL loads its plugins from; null when NIXL did not import or there is no venv.
  returned: always
  type: str
plugins:
  description: The plugins in RV(plugin_dir).
  returned: always
  type: list
  elements: str
  sample: [LIBFABRIC, POSIX, UCX]
backends:
  description: For each of O(backends) tried, whether an agent with it alone could be created, and the error when not.
  returned: always
  type: dict
  contains:
    loadable:
      description: Whether the agent was created.
      type: bool
    error:
      description: Why not, with what the dynamic loader says of the plugin; null when it loaded.
      type: str
  sample: {"UCX": {"loadable": true, "error": null}}
import_error:
  description: Why C(nixl_cu<major>) did not import (or the check gave no answer); null when it did or there is no venv.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nixl_efa.cluster.plugins.module_utils import nixl_node
from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_files
from ansible_collections.nixl_efa.cluster.plugins.module_utils import service_node


def main():
    module = AnsibleModule(
        argument_spec=dict(
            venv=dict(type="path", required=True),
            cuda_major=dict(type="int", default=0, choices=[0, 12, 13]),
            default_cuda_major=dict(type="int", default=12, choices=[12, 13]),
            debs=dict(type="list", elements="str", default=[]),
            distributions=dict(type="list", elements="str", default=[]),
            backends=dict(type="list", elements="str", default=[]),
            efa_prefix=dict(type="path", default="/opt/amazon/efa"),
            cuda_lib_dir=dict(type="path", default="/usr/local/cuda/lib64"),
            cuda_version_json=dict(type="path", default="/usr/local/cuda/version.json"),
            nvidia_smi=dict(type="str", default="nvidia-smi"),
            plugin_dir=dict(type="path", default=""),
            managed_files=dict(type="list", elements="path", default=[]),
            command_timeout=dict(type="int", default=60),
        ),
        supports_check_mode=True,
    )
    params = dict(module.params)
    timeout = params.pop("command_timeout")
    managed = node_files.states(params.pop("managed_files"))
    node = nixl_node.NixlNode(service_node.command_runner(module, timeout))
    module.exit_json(changed=False, managed_files=managed, **node.facts(**params))


if __name__ == "__main__":
    main()
