# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: aws_target
version_added: 0.1.0
short_description: What stops this run from talking to the AWS its inventory is made for
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
description:
  - Reads the controller's AWS endpoint variables (E(AWS_ENDPOINT_URL) and the service-specific
    E(AWS_ENDPOINT_URL_EC2), E(AWS_ENDPOINT_URL_S3), E(AWS_ENDPOINT_URL_IAM), E(AWS_ENDPOINT_URL_STS),
    E(AWS_ENDPOINT_URL_SSM), E(AWS_ENDPOINT_URL_SECRETS_MANAGER), E(AWS_ENDPOINT_URL_EFS)), which every
    AWS client of a run follows (modules, the aws_ec2 inventory, the aws_ssm connection), and answers one
    message per rule broken, naming the variable to change. An empty list means the run may go on.
  - An inventory made for the lab (O(local_aws)) needs E(AWS_ENDPOINT_URL) set and every endpoint variable
    on a loopback address, or the lab's settings (a $5,000 capacity block ceiling, a cluster to delete) would
    reach a real account.
  - An inventory made for a real account refuses any endpoint variable on a loopback address (a shell still
    holding the lab's exports) and O(require_tls=false), which only a stand-in served over plain HTTP needs.
  - Every playbook of the collection that calls AWS runs this check first (C(playbooks/tasks/aws_target.yml)).
options:
  local_aws:
    description: The inventory is made for a local stand-in of AWS (C(cluster_local_aws)).
    type: bool
    default: false
  require_tls:
    description: The bucket refuses requests not over TLS (C(cluster_require_tls)).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Refuse lab settings on AWS and AWS settings on the lab, before any call
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join(' ') }} Nothing was called."
  vars:
    problems: "{{ query('nixl_efa.cluster.aws_target', local_aws=cluster_local_aws | default(false),
                  require_tls=cluster_require_tls | default(true)) }}"
"""

RETURN = r"""
_raw:
  description: One message per rule broken; empty when the settings and the endpoint agree.
  type: list
  elements: str
"""

import os

from ansible.plugins.lookup import LookupBase

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.aws_target import aws_target_problems


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return aws_target_problems(
            os.environ, local_aws=self.get_option("local_aws"), require_tls=self.get_option("require_tls")
        )
