#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: efa_launch_template
version_added: 0.1.0
short_description: Manage an EC2 launch template with one EFA interface per network card
description:
  - Creates, updates or deletes an EC2 launch template for EFA cluster nodes, the part
    M(amazon.aws.ec2_launch_template) cannot express, network interfaces of type V(efa) or
    V(efa-only) on every network card, the capacity-block market type and a capacity
    reservation target.
  - The interface layout follows AWS's guidance for EFA instances, the primary interface on
    network card 0 at device index 0 of type V(efa), then one interface per further network
    card at device index 1, V(efa-only) there when O(efa_only_secondary=true) and EC2 says
    the card accepts it.
  - Instance metadata is IMDSv2 only and the root volume is encrypted.
  - The instance type is checked with EC2 first, a type without EFA, more interfaces than it
    allows, or an unknown AMI fail before anything is created.
  - A new template version is made only when the template data differs from the latest
    version, and the default version is kept on the newest one. Check mode and diff mode show
    the template data that would be written.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  name:
    description:
      - Name of the launch template.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the template, V(absent) deletes it with all its versions.
    type: str
    choices: [present, absent]
    default: present
  instance_type:
    description:
      - EFA-capable instance type, for example V(p5.48xlarge). Required when O(state=present).
    type: str
  instance_type_info:
    description:
      - What M(nixl_efa.cluster.efa_instance_type_info) returned for O(instance_type) (one item of its
        C(instance_types)), when the play has read it already; the module then does not describe the type again.
      - Its C(instance_type) must be O(instance_type).
    type: dict
    version_added: 0.2.0
  image_id:
    description:
      - AMI id, for example the Deep Learning AMI's id read from its public SSM parameter.
      - Its root device name is read from EC2 for the root volume mapping. Required when O(state=present).
    type: str
  subnet_id:
    description:
      - Subnet for every network interface. It must lie in the Availability Zone of the
        capacity reservation when one is used. Required when O(state=present).
    type: str
  security_group_ids:
    description:
      - Security groups for every interface, normally the cluster's EFA group that allows all
        traffic from itself. Required when O(state=present).
    type: list
    elements: str
  efa_interfaces:
    description:
      - How many EFA interfaces, V(max) for the instance type's maximum (one per network card,
        at most C(MaximumEfaInterfaces)) or a number from 1 to that maximum.
      - V(0) or V(none) gives one plain ENA interface (InterfaceType C(interface)) and no EFA, for
        a node that does not use EFA (a single workstation); the instance type then need not
        support EFA. The capacity block and other options work the same.
    type: str
    default: max
  efa_only_secondary:
    description:
      - Use V(efa-only) interfaces (no IP address, RDMA only) on the secondary network cards that
        accept them, leaving the primary interface as V(efa). Saves private IP addresses on
        instances with many cards.
    type: bool
    default: false
  placement_group:
    description:
      - Name of the cluster placement group to launch into.
    type: str
  market_type:
    description:
      - V(capacity-block) launches into an EC2 Capacity Block and needs O(capacity_reservation_id).
    type: str
    choices: [on-demand, capacity-block]
    default: on-demand
  capacity_reservation_id:
    description:
      - Capacity reservation to target, the capacity block's reservation with
        O(market_type=capacity-block), or an On-Demand Capacity Reservation otherwise.
    type: str
  iam_instance_profile:
    description:
      - Instance profile name or ARN, for example one with AmazonSSMManagedInstanceCore so that
        Session Manager reaches the node.
    type: str
  volume_size:
    description:
      - Root volume size in GB. Defaults to the size recommended for the instance type
        (see M(nixl_efa.cluster.efa_instance_type_info)); a size below 80% of it is allowed with a warning.
    type: int
  volume_type:
    description:
      - EBS volume type of the root volume.
    type: str
    default: gp3
  metadata_hop_limit:
    description:
      - IMDSv2 PUT response hop limit. V(1) keeps tokens on the instance; V(2) lets containers reach IMDS.
    type: int
    default: 1
  associate_public_ip_address:
    description:
      - Give the primary interface a public IP address. Only possible with a single network
        interface (O(efa_interfaces=1)); clusters with several EFA interfaces use a private subnet
        with SSM endpoints or a NAT gateway.
    type: bool
  user_data:
    description:
      - User data as plain text (a shell script or cloud-config); the module encodes it.
    type: str
  tags:
    description:
      - Tags for the template itself and for the instances, volumes and network interfaces launched from it.
    type: dict
    aliases: [resource_tags]
  owner_tags:
    description:
      - Ownership before change. Tags that an existing template of this O(name) must already carry, with these
        values, before this module changes it (a new version, its tags) or deletes it, for example
        the tag C(nixl-efa:cluster) with the cluster's name.
      - When one is missing or has another value the module fails, naming the template, its id and the tag found,
        and changes nothing. A template that does not exist yet is created as usual.
      - Unset or empty, any template of that name is taken.
    type: dict
  purge_tags:
    description:
      - Remove tags from the template that are not in O(tags). The tags of launched resources
        always follow O(tags), they are part of the template data.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    details: Says whether a new template version would be made, and shows its data in diff mode.
  diff_mode:
    support: full
seealso:
  - module: nixl_efa.cluster.efa_instance_type_info
  - module: amazon.aws.ec2_launch_template
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Launch template for p5.48xlarge nodes in a capacity block, 32 EFA interfaces
  nixl_efa.cluster.efa_launch_template:
    name: nixl-efa-demo-nodes
    instance_type: p5.48xlarge
    image_id: "{{ dlami_image_id }}"
    subnet_id: "{{ cluster_subnet_id }}"
    security_group_ids: ["{{ efa_security_group_id }}"]
    efa_only_secondary: true
    placement_group: nixl-efa-demo
    market_type: capacity-block
    capacity_reservation_id: "{{ capacity_block.capacity_reservation_id }}"
    iam_instance_profile: nixl-efa-demo-node
    tags:
      nixl-efa:cluster: demo
    owner_tags:
      nixl-efa:cluster: demo
  register: node_template

- name: Single-card g5.12xlarge on demand, with the recommended volume size
  nixl_efa.cluster.efa_launch_template:
    name: nixl-efa-dev-nodes
    instance_type: g5.12xlarge
    image_id: "{{ dlami_image_id }}"
    subnet_id: "{{ cluster_subnet_id }}"
    security_group_ids: ["{{ efa_security_group_id }}"]
    placement_group: nixl-efa-dev

- name: Remove the template, only if it is cluster dev's
  nixl_efa.cluster.efa_launch_template:
    name: nixl-efa-dev-nodes
    owner_tags:
      nixl-efa:cluster: dev
    state: absent
"""

RETURN = r"""
template:
  description: The launch template after the run (before deletion when O(state=absent)); empty when absent.
  returned: always
  type: dict
  contains:
    launch_template_id:
      description: Template id.
      type: str
      sample: lt-0123456789abcdef0
    launch_template_name:
      description: Template name.
      type: str
      sample: nixl-efa-demo-nodes
    latest_version:
      description: Latest version number.
      type: int
      sample: 2
    default_version:
      description: Default version number, kept equal to the latest.
      type: int
      sample: 2
    network_interfaces:
      description: The interfaces of the template data, in network card order.
      type: list
      elements: dict
      contains:
        network_card_index:
          description: The network card.
          type: int
        device_index:
          description: The device index (0 for the primary interface).
          type: int
        interface_type:
          description: V(efa), V(efa-only) or V(interface).
          type: str
        subnet_id:
          description: The subnet.
          type: str
        groups:
          description: The security groups.
          type: list
          elements: str
      sample:
        - network_card_index: 0
          device_index: 0
          interface_type: efa
          subnet_id: subnet-0abc
          groups: [sg-0abc]
        - network_card_index: 1
          device_index: 1
          interface_type: efa-only
          subnet_id: subnet-0abc
          groups: [sg-0abc]
    volume_size:
      description: Root volume size in GB.
      type: int
      sample: 1000
    tags:
      description: Tags of the template.
      type: dict
      sample: {"nixl-efa:cluster": "demo"}
instance_type_info:
  description: What EC2 reports for the instance type, as M(nixl_efa.cluster.efa_instance_type_info) returns it.
  returned: when O(state=present)
  type: dict
launch_template_data:
  description:
    - The template data written (or that would be written in check mode), with snake_case keys as amazon.aws
      modules return them (the request sent to EC2 had C(LaunchTemplateData) in EC2's CamelCase).
    - The C(diff) keeps EC2's own spelling, so that it reads as the request and the version EC2 holds.
  returned: when O(state=present)
  type: dict
  contains:
    instance_type:
      description: The instance type.
      type: str
      sample: p5.48xlarge
    image_id:
      description: The AMI, when one was given.
      type: str
      sample: ami-0abc
    iam_instance_profile:
      description: "The instance profile (C(name) or C(arn)), when one was given."
      type: dict
      sample: {"name": "demo-us-east-1-node"}
    metadata_options:
      description: IMDS settings; C(http_tokens) is always C(required) (IMDSv2 only).
      type: dict
      sample: {"http_tokens": "required", "http_endpoint": "enabled", "http_put_response_hop_limit": 2}
    network_interfaces:
      description: One entry per interface, C(network_card_index), C(device_index), C(interface_type) and more.
      type: list
      elements: dict
    block_device_mappings:
      description: The root volume (encrypted gp3, deleted with the instance).
      type: list
      elements: dict
    placement:
      description: The placement group, when one was given.
      type: dict
    instance_market_options:
      description: "C(market_type) V(capacity-block) when the nodes launch into a capacity block."
      type: dict
    capacity_reservation_specification:
      description: The targeted capacity reservation, when one was given.
      type: dict
    user_data:
      description: The user data, base64-encoded, when some was given.
      type: str
    tag_specifications:
      description: Tags the launched instances, volumes and interfaces get.
      type: list
      elements: dict
  sample:
    instance_type: p5.48xlarge
    metadata_options: {"http_tokens": "required", "http_endpoint": "enabled"}
    network_interfaces:
      - {"network_card_index": 0, "device_index": 0, "interface_type": "efa", "groups": ["sg-0abc"]}
"""

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.ec2 import AnsibleEC2Error
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications

from ansible_collections.nixl_efa.cluster.plugins.module_utils import ec2_api
from ansible_collections.nixl_efa.cluster.plugins.module_utils import launch_template_ec2 as lte
from ansible_collections.nixl_efa.cluster.plugins.module_utils.launch_template import template_data_differs

VERSION_DESCRIPTION = "managed by nixl_efa.cluster.efa_launch_template"


def ensure_absent(module, client):
    template = ec2_api.describe_launch_template(client, module.params["name"])
    if not template:
        module.exit_json(changed=False, template={})
    lte.refuse_unowned(module, template)
    current = ec2_api.describe_launch_template_version(client, template["LaunchTemplateId"], "$Latest") or {}
    data = current.get("LaunchTemplateData", {})
    result = lte.template_result(template, data, boto3_tag_list_to_ansible_dict(template.get("Tags", [])))
    if not module.check_mode:
        ec2_api.delete_launch_template(client, template["LaunchTemplateId"])
    module.exit_json(changed=True, template=result, diff={"before": data, "after": {}})


def ensure_present(module, client):
    name = module.params["name"]
    summary, data = lte.desired_template_data(module, client)
    template = ec2_api.describe_launch_template(client, name)

    if not template:
        if module.check_mode:
            module.exit_json(
                changed=True,
                template={},
                instance_type_info=summary,
                launch_template_data=camel_dict_to_snake_dict(data),
                diff={"before": {}, "after": data},
            )
        params = dict(LaunchTemplateName=name, LaunchTemplateData=data, VersionDescription=VERSION_DESCRIPTION)
        if module.params["tags"]:
            params["TagSpecifications"] = boto3_tag_specifications(module.params["tags"], ["launch-template"])
        template = ec2_api.create_launch_template(client, **params)
        module.exit_json(
            changed=True,
            template=lte.template_result(template, data, module.params["tags"] or {}),
            instance_type_info=summary,
            launch_template_data=camel_dict_to_snake_dict(data),
            diff={"before": {}, "after": data},
        )

    lte.refuse_unowned(module, template)
    template_id = template["LaunchTemplateId"]
    latest = ec2_api.describe_launch_template_version(client, template_id, "$Latest") or {}
    current = latest.get("LaunchTemplateData", {})
    changed = False
    if template_data_differs(data, current):
        changed = True
        if module.check_mode:
            template = dict(template, LatestVersionNumber=template["LatestVersionNumber"] + 1)
            template["DefaultVersionNumber"] = template["LatestVersionNumber"]
        else:
            version = ec2_api.create_launch_template_version(
                client, LaunchTemplateId=template_id, LaunchTemplateData=data, VersionDescription=VERSION_DESCRIPTION
            )
            number = version["VersionNumber"]
            ec2_api.set_default_launch_template_version(client, template_id, number)
            template = dict(template, LatestVersionNumber=number, DefaultVersionNumber=number)
    elif template["DefaultVersionNumber"] != template["LatestVersionNumber"]:
        changed = True
        if not module.check_mode:
            ec2_api.set_default_launch_template_version(client, template_id, template["LatestVersionNumber"])
        template = dict(template, DefaultVersionNumber=template["LatestVersionNumber"])

    tags_changed, tags = lte.ensure_tags(module, client, template)
    result_data = data if changed else current
    module.exit_json(
        changed=changed or tags_changed,
        template=lte.template_result(template, result_data, tags),
        instance_type_info=summary,
        launch_template_data=camel_dict_to_snake_dict(data),
        diff={"before": current, "after": data},
    )


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        instance_type=dict(type="str"),
        instance_type_info=dict(type="dict"),
        image_id=dict(type="str"),
        subnet_id=dict(type="str"),
        security_group_ids=dict(type="list", elements="str"),
        efa_interfaces=dict(type="str", default="max"),
        efa_only_secondary=dict(type="bool", default=False),
        placement_group=dict(type="str"),
        market_type=dict(type="str", choices=["on-demand", "capacity-block"], default="on-demand"),
        capacity_reservation_id=dict(type="str"),
        iam_instance_profile=dict(type="str"),
        volume_size=dict(type="int"),
        volume_type=dict(type="str", default="gp3"),
        metadata_hop_limit=dict(type="int", default=1),
        associate_public_ip_address=dict(type="bool"),
        user_data=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        owner_tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[
            ("state", "present", ["instance_type", "image_id", "subnet_id", "security_group_ids"]),
            ("market_type", "capacity-block", ["capacity_reservation_id"]),
        ],
        supports_check_mode=True,
    )
    if module.params["state"] == "present":
        if not module.params["security_group_ids"]:
            module.fail_json(msg="security_group_ids must name at least one security group")
        if module.params["volume_size"] is not None and module.params["volume_size"] < 1:
            module.fail_json(msg=f"volume_size must be a positive number of GB; got {module.params['volume_size']}")
        if not 1 <= module.params["metadata_hop_limit"] <= 64:
            module.fail_json(
                msg=f"metadata_hop_limit must be between 1 and 64; got {module.params['metadata_hop_limit']}"
            )

    client = module.client("ec2", retry_decorator=AWSRetry.jittered_backoff())
    try:
        if module.params["state"] == "absent":
            ensure_absent(module, client)
        ensure_present(module, client)
    except AnsibleEC2Error as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()
