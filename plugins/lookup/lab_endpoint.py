# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
name: lab_endpoint
version_added: 0.1.0
short_description: The lab's endpoint, for an inventory that may only ever reach the lab
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
description:
  - Answers E(AWS_ENDPOINT_URL) when it is an http(s) URL on a loopback address (127.0.0.0/8, ::1,
    localhost), and fails otherwise, unset included.
  - The lab's aws_ec2 inventory (C(inventories/lab/aws_ec2.yml)) sets its C(endpoint_url) with it, so the
    inventory fails to load instead of listing a real account's instances when the lab's exports are
    missing, and nothing is asked of AWS.
"""

EXAMPLES = r"""
# inventories/lab/aws_ec2.yml
plugin: amazon.aws.aws_ec2
endpoint_url: "{{ lookup('nixl_efa.cluster.lab_endpoint') }}"
"""

RETURN = r"""
_raw:
  description: The lab's URL, one element.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.aws_target import lab_endpoint


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        try:
            return [lab_endpoint(os.environ)]
        except ValueError as error:
            raise AnsibleLookupError(str(error)) from None
