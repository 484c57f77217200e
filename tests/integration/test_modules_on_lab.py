# -*- coding: utf-8 -*-
"""The five modules through ansible-playbook against the lab's local AWS.

Capacity blocks: search, a check-mode purchase that buys nothing, a purchase, and a re-run
that buys nothing more. Launch template: created from moto's instance type data, then a
re-run reports no change.
"""

import json

import boto3
import pytest

REGION = "us-east-2"


def lab_play(url, tasks):
    """A localhost play whose AWS modules all reach the lab through the action group."""
    return f"""
- name: Lab run
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/nixl_efa.cluster.aws:
      region: {REGION}
      endpoint_url: {url}
      access_key: testing
      secret_key: testing
  tasks:
{tasks}
    - name: Report
      ansible.builtin.copy:
        content: "{{{{ out | to_json }}}}"
        dest: "{{{{ report }}}}"
        mode: "0600"
"""


LAB_ENV = {"AWS_MAX_ATTEMPTS": "2"}


CAPACITY = """
    - name: Search
      nixl_efa.cluster.capacity_block_offering_info:
        instance_type: p5.48xlarge
        instance_count: 2
        duration_hours: 48
        start_date_range: now
        end_date_range: +10d
        sort: price
      register: search
    - name: The same purchase, three times
      module_defaults:
        nixl_efa.cluster.capacity_block:
          name: lab-demo
          instance_type: p5.48xlarge
          instance_count: 2
          duration_hours: 48
          start_date_range: now
          end_date_range: +10d
          select: cheapest
          max_upfront_fee: 3000
      block:
        - name: Buy (check mode)
          nixl_efa.cluster.capacity_block:
          check_mode: true
          register: preview
        - name: Blocks after the preview
          nixl_efa.cluster.capacity_block_info:
            name: lab-demo
          register: after_preview
        - name: Buy
          nixl_efa.cluster.capacity_block:
          register: bought
        - name: Buy again
          nixl_efa.cluster.capacity_block:
          register: again
    - name: Blocks after the purchase
      nixl_efa.cluster.capacity_block_info:
        name: lab-demo
      register: after
    - name: Collect
      ansible.builtin.set_fact:
        out: "{{ {'search': search, 'preview': preview, 'after_preview': after_preview, 'bought': bought,
                  'again': again, 'after': after} }}"
"""


def test_capacity_block_flow_buys_once(lab_aws, run_playbook):
    out = run_playbook(lab_play(lab_aws, CAPACITY), LAB_ENV)
    offerings = out["search"]["offerings"]
    assert len(offerings) == 12  # the lab's catalogue: starting now and in 1, 3 and 7 days, in three zones
    assert [o["upfront_fee"] for o in offerings] == sorted(o["upfront_fee"] for o in offerings)
    cheapest = offerings[0]
    assert out["preview"]["changed"] and out["preview"]["offering"] == cheapest
    assert out["after_preview"]["capacity_reservations"] == []
    block = out["bought"]["capacity_block"]
    assert out["bought"]["changed"] and block["availability_zone"] == cheapest["availability_zone"]
    assert block["upfront_fee"] == cheapest["upfront_fee"] and block["purchase_key"] == "lab-demo"
    assert out["again"]["changed"] is False
    assert out["again"]["capacity_block"]["capacity_reservation_id"] == block["capacity_reservation_id"]
    assert [r["capacity_reservation_id"] for r in out["after"]["capacity_reservations"]] == [
        block["capacity_reservation_id"]
    ]
    assert out["after"]["capacity_blocks"][0]["interconnect_status"] == "ok"


@pytest.fixture
def network(lab_aws):
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=lab_aws,
                       aws_access_key_id="testing", aws_secret_access_key="testing")  # fmt: skip
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24", AvailabilityZone=REGION + "a")["Subnet"]
    group = ec2.create_security_group(GroupName="efa", Description="EFA", VpcId=vpc)["GroupId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.create_placement_group(GroupName="lab-pg", Strategy="cluster")
    return {"subnet": subnet["SubnetId"], "group": group, "image": image}


def test_launch_template_twice_changes_once(lab_aws, network, run_playbook):
    task = f"""
    - name: Template
      nixl_efa.cluster.efa_launch_template:
        name: lab-nodes
        instance_type: p5.48xlarge
        image_id: {network["image"]}
        subnet_id: {network["subnet"]}
        security_group_ids: [{network["group"]}]
        placement_group: lab-pg
        efa_only_secondary: true
        tags:
          nixl-efa:cluster: lab
      register: template
    - name: Collect
      ansible.builtin.set_fact:
        out: "{{{{ template }}}}"
"""
    first = run_playbook(lab_play(lab_aws, task), LAB_ENV)
    assert first["changed"]
    nics = first["template"]["network_interfaces"]
    assert len(nics) == first["instance_type_info"]["max_efa_interfaces"] > 1
    assert (nics[0]["device_index"], nics[0]["interface_type"]) == (0, "efa")
    second = run_playbook(lab_play(lab_aws, task), LAB_ENV)
    assert second["changed"] is False, json.dumps(second["diff"], indent=1, sort_keys=True)
    assert second["template"]["latest_version"] == 1
