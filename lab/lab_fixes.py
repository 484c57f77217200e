# -*- coding: utf-8 -*-
"""Corrections to moto 5.2.5 answers that differ from AWS's, kept under lab/ and never shipped.

- UpdateSecurityGroupRuleDescriptionsIngress/Egress: moto answers with an empty body; AWS
  answers {"Return": true}, which amazon.aws.ec2_security_group reads (a KeyError otherwise, the
  first time a rule's description changes, for example on the default egress rule).
- The default VPC: moto makes it without an internet gateway; AWS attaches one and routes
  0.0.0.0/0 to it in the main route table ("Default VPC components",
  https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html). Without it no instance in a
  default subnet could reach Session Manager in the lab (lab_reachability.py), as it does on AWS.
- DescribeNatGateways: moto applies only its nat-gateway-id, vpc-id, subnet-id and state filters
  and ignores `tag:<key>`, `tag-key` and `tag-value`, so a search for one cluster's gateways
  returned every cluster's. AWS filters on them ("Filter.N", tag:<key> and tag-key,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNatGateways.html); a
  teardown that trusts the filter must not be able to reach another cluster's gateway in the lab.
"""

from moto.core.responses import ActionResult

_ORIGINALS = {}


def _with_return(name):
    def action(self):
        _ORIGINALS[name](self)
        return ActionResult({"Return": True})

    action.__name__ = name
    return action


FIXED = ("update_security_group_rule_descriptions_ingress", "update_security_group_rule_descriptions_egress")


def _create_default_vpc(self):
    """moto's default VPC, plus the internet gateway and default route AWS gives it."""
    vpc = _ORIGINALS["create_default_vpc"](self)
    if not any(getattr(igw.vpc, "id", None) == vpc.id for igw in self.internet_gateways.values()):
        igw = self.create_internet_gateway()
        self.attach_internet_gateway(igw.id, vpc.id)
        main = next(t for t in self.route_tables.values() if t.vpc_id == vpc.id and t.main_association_id)
        self.create_route(main.id, "0.0.0.0/0", gateway_id=igw.id)
    return vpc


TAG_FILTERS = ("tag-key", "tag-value")


def _describe_nat_gateways(self, filters, nat_gateway_ids):
    """moto's answer, narrowed by the tag filters it ignores, as AWS narrows it."""
    from moto.ec2.utils import tag_filter_matches  # noqa: PLC0415

    found = _ORIGINALS["describe_nat_gateways"](self, filters, nat_gateway_ids)
    for name, values in (filters or {}).items():
        if name in TAG_FILTERS or name.startswith("tag:"):
            found = [gateway for gateway in found if tag_filter_matches(gateway, name, values)]
    return found


def install(response_class):
    """Replace the actions in FIXED on moto's EC2 response class, the default VPC's making and the NAT gateway
    search (idempotent)."""
    from moto.ec2.models.vpcs import VPCBackend  # noqa: PLC0415

    for name in FIXED:
        _ORIGINALS.setdefault(name, getattr(response_class, name))
        setattr(response_class, name, _with_return(name))
    _ORIGINALS.setdefault("create_default_vpc", VPCBackend.create_default_vpc)
    VPCBackend.create_default_vpc = _create_default_vpc
    from moto.ec2.models.nat_gateways import NatGatewayBackend  # noqa: PLC0415

    _ORIGINALS.setdefault("describe_nat_gateways", NatGatewayBackend.describe_nat_gateways)
    NatGatewayBackend.describe_nat_gateways = _describe_nat_gateways
