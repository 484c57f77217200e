#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: service_node_info
version_added: 0.1.0
short_description: Report what a service role needs to know about a node in one task
description:
  - Runs on a cluster node and reads, in one task, what a role that installs a Python service in a
    venv and runs it as a systemd unit decides on (Debian packages, distribution versions inside the
    venv, the interpreter the venv is made from, the service user, directories, file contents
    (as sha1), systemd units, the default route's address, whether the service answers on
    C(/health), and the GPUs C(nvidia-smi -L) lists).
  - The mlflow, vllm and ray roles of this collection call it once per node instead of a dozen
    C(stat), C(command) and C(uri) tasks; over Session Manager every task costs seconds.
  - Only reads; it never changes the node. Anything missing is reported as false, empty or null, not as a failure.
  - Python standard library only (Python 3.8 and later on the node); it needs no AWS credentials.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  python:
    description:
      - The venv's interpreter (for example C(/opt/nixl-efa/venvs/mlflow/bin/python)), asked for the
        versions of O(distributions). When it is not executable (no venv yet) RV(installed) is empty.
    type: path
  distributions:
    description:
      - Python distributions whose installed versions in the venv of O(python) to report in RV(installed).
    type: list
    elements: str
    default: []
  base_python:
    description:
      - The interpreter the venv is made from, whose version RV(python) reports. Without it RV(python) is empty.
    type: path
  debs:
    description:
      - Debian packages whose installed state to report in RV(debs) (C(dpkg-query)).
    type: list
    elements: str
    default: []
  user:
    description:
      - The service user whose existence RV(user) reports.
    type: str
  paths:
    description:
      - Paths whose owner, group, mode and type to report in RV(paths), under the same strings as given
        (no C(~) or variable expansion), so a role can look them up by the value it passed.
    type: list
    elements: str
    default: []
  files:
    description:
      - Files whose content's sha1 to report in RV(files), under the same strings as given. A role compares it
        with C(hash('sha1')) of the content it would write, and writes only when they differ.
    type: list
    elements: str
    default: []
  units:
    description:
      - systemd units (with their suffix, V(mlflow.service)) whose state to report in RV(units).
    type: list
    elements: str
    default: []
  host:
    description:
      - The address the service listens on, for the RV(health) checks. Empty takes RV(address).
    type: str
    default: ""
  health_ports:
    description:
      - Ports on which to try C(GET http://<host>:<port>/health), reported in RV(health); once, unless O(health_wait).
    type: list
    elements: int
    default: []
  health_wait:
    description:
      - Seconds to wait, on the node, for every port of O(health_ports) to answer 200, trying again every 2 seconds
        those that have not; V(0) tries once. The task returns as soon as all answer, or at the deadline with
        RV(health) saying which did not; it never fails on an unhealthy service.
      - One task waiting on the node instead of a controller polling with C(until) and C(retries), which over
        Session Manager costs a session per try. Over C(amazon.aws.aws_ssm) give the task an
        C(ansible_aws_ssm_timeout) above the wait.
    type: int
    default: 0
  list_gpus:
    description:
      - List GPUs with C(nvidia-smi -L) into RV(gpus). V(false) runs nothing and returns an empty list.
    type: bool
    default: false
  nvidia_smi:
    description:
      - The C(nvidia-smi) command, a name looked up in PATH or a full path.
    type: str
    default: nvidia-smi
  gpus_required:
    description:
      - For a service that runs only where GPUs are. With O(list_gpus=true) and no GPU found, the
        interpreter, the venv and the servers' health are not asked about, RV(python) is empty,
        RV(installed) empty and every RV(health) value false.
    type: bool
    default: false
  command_timeout:
    description:
      - Seconds each command (C(nvidia-smi), C(systemctl), the venv's interpreter) may run before it is
        stopped, when the node has the C(timeout) utility.
    type: int
    default: 30
notes:
  - Supports check mode; it changes nothing in either mode.
  - Each health check is one try with a 3 second timeout; only O(health_wait) makes it wait for a service to come up.
seealso:
  - module: nixl_efa.cluster.efa_node_info
extends_documentation_fragment:
  - nixl_efa.cluster.managed_files
  - nixl_efa.cluster.attributes
  - nixl_efa.cluster.attributes.info_module
"""

EXAMPLES = r"""
- name: Probe the venv, the service user, directories, the unit and its health
  nixl_efa.cluster.service_node_info:
    python: /opt/nixl-efa/venvs/mlflow/bin/python
    distributions: [mlflow]
    debs: [python3-venv, python3-packaging]
    user: mlflow
    paths: [/var/lib/nixl-efa/mlflow]
    units: [mlflow.service]
    health_ports: [5000]
  register: probe

- name: Install MLflow only when the venv lacks it
  ansible.builtin.pip:
    name: mlflow==3.1.0
    virtualenv: /opt/nixl-efa/venvs/mlflow
  when: probe.installed.mlflow | default('') != '3.1.0'

- name: Probe a unit file and its unit
  nixl_efa.cluster.service_node_info:
    files: [/etc/systemd/system/ray-head.service]
    units: [ray-head.service]
  register: ray_probe

- name: Write the unit file only when its content differs
  ansible.builtin.copy:
    content: "{{ unit_text }}"
    dest: /etc/systemd/system/ray-head.service
    mode: "0644"
  when: ray_probe.files['/etc/systemd/system/ray-head.service'] != (unit_text | hash('sha1'))

- name: GPUs first; nothing else is asked where there is none
  nixl_efa.cluster.service_node_info:
    list_gpus: true
    gpus_required: true
    base_python: /usr/bin/python3
    python: /opt/nixl-efa/venvs/vllm/bin/python
    distributions: [vllm, nixl]
    health_ports: [8100]
  register: vllm_probe
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
gpus:
  description: The lines of C(nvidia-smi -L); empty without O(list_gpus), or when nvidia-smi is missing or fails.
  returned: always
  type: list
  elements: str
  sample: ["GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-5b6d0d1e-0000-0000-0000-000000000000)"]
address:
  description: The IPv4 address of the interface holding the default route (C(ip route)), empty without one.
  returned: always
  type: str
  sample: 10.0.1.23
python:
  description: The version of O(base_python), empty when it is not given or cannot run.
  returned: always
  type: str
  sample: 3.11.2
debs:
  description: For each of O(debs), whether it is installed.
  returned: always
  type: dict
  sample: {"python3-venv": true, "python3-packaging": false}
installed:
  description:
    - The version of each of O(distributions) installed in the venv of O(python); missing ones are left out,
      and it is empty when the venv does not exist.
  returned: always
  type: dict
  sample: {"mlflow": "3.1.0"}
user:
  description: Whether O(user) exists; false when it is not given.
  returned: always
  type: bool
  sample: true
paths:
  description:
    - For each of O(paths), a dict with C(owner), C(group) (names, or numeric ids without one), C(mode)
      (four octal digits) and C(dir) (whether it is a directory), links followed; null when it is missing.
  returned: always
  type: dict
  sample:
    /var/lib/nixl-efa/mlflow: {owner: mlflow, group: mlflow, mode: "0750", dir: true}
    /opt/none: null
files:
  description: For each of O(files), the sha1 of its content; null when it is missing or unreadable.
  returned: always
  type: dict
  sample: {"/etc/nixl-efa/ray.env": "2ae7a1c2a4ad1c0ac6e1a5b2e9e8d0d4c9ab1d05"}
units:
  description:
    - For each of O(units), a dict with C(enabled) (C(systemctl is-enabled) says enabled), C(active)
      (C(systemctl is-active) says active) and C(exists) (systemd knows a unit file for it).
  returned: always
  type: dict
  sample: {"mlflow.service": {"enabled": true, "active": true, "exists": true}}
health_seconds:
  description: Seconds spent on the health checks, the wait of O(health_wait) included.
  returned: always
  type: float
  sample: 41.5
health:
  description:
    - For each of O(health_ports), as a string, whether C(GET http://<host>:<port>/health) answered 200
      now, with O(host) or else RV(address) as the host.
  returned: always
  type: dict
  sample: {"5000": true}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nixl_efa.cluster.plugins.module_utils import node_files
from ansible_collections.nixl_efa.cluster.plugins.module_utils import service_node


def main():
    module = AnsibleModule(
        argument_spec=dict(
            python=dict(type="path"),
            distributions=dict(type="list", elements="str", default=[]),
            base_python=dict(type="path"),
            debs=dict(type="list", elements="str", default=[]),
            user=dict(type="str"),
            paths=dict(type="list", elements="str", default=[]),
            files=dict(type="list", elements="str", default=[]),
            units=dict(type="list", elements="str", default=[]),
            host=dict(type="str", default=""),
            health_ports=dict(type="list", elements="int", default=[]),
            health_wait=dict(type="int", default=0),
            list_gpus=dict(type="bool", default=False),
            nvidia_smi=dict(type="str", default="nvidia-smi"),
            gpus_required=dict(type="bool", default=False),
            managed_files=dict(type="list", elements="path", default=[]),
            command_timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    params = dict(module.params)
    timeout = params.pop("command_timeout")
    managed = node_files.states(params.pop("managed_files"))
    if params["health_wait"] < 0:
        module.fail_json(msg="health_wait must be 0 (one try) or a number of seconds")
    bad_ports = [port for port in params["health_ports"] if not 0 < port < 65536]
    if bad_ports:
        module.fail_json(msg=f"health_ports must be between 1 and 65535, not {bad_ports}")
    node = service_node.ServiceNode(service_node.module_runner(module, timeout))
    module.exit_json(changed=False, managed_files=managed, **node.facts(**params))


if __name__ == "__main__":
    main()
