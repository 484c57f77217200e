# -*- coding: utf-8 -*-
"""The `nixl_efa.cluster.aws` action group carries module_defaults to our modules and amazon.aws's.

A playbook sets region and endpoint once through `group/nixl_efa.cluster.aws`; the tasks
reach for an endpoint on loopback where nothing listens, so each must fail saying it could
not connect to exactly that endpoint, which proves the defaults were applied (without them,
the modules fail asking for a region instead).
"""

ENDPOINT = "http://127.0.0.1:9"

PLAYBOOK = f"""
- name: Action group defaults
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/nixl_efa.cluster.aws:
      region: eu-west-3
      endpoint_url: {ENDPOINT}
      access_key: AKIDEXAMPLE
      secret_key: not-a-secret
  tasks:
    - name: Our module
      nixl_efa.cluster.efa_instance_type_info:
        instance_types: [p5.48xlarge]
      register: ours
      ignore_errors: true
    - name: An amazon.aws module, through extend_group
      amazon.aws.aws_az_info:
      register: theirs
      ignore_errors: true
    - name: Report
      ansible.builtin.copy:
        content: "{{{{ {{'ours': ours, 'theirs': theirs}} | to_json }}}}"
        dest: "{{{{ report }}}}"
        mode: "0600"
"""


def test_group_module_defaults_reach_every_aws_module(run_playbook):
    results = run_playbook(PLAYBOOK, env={"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"})
    for name in ("ours", "theirs"):
        result = results[name]
        assert result["failed"], result
        assert f"{ENDPOINT}/" in result["msg"] and "region" not in result["msg"].lower(), result["msg"]
