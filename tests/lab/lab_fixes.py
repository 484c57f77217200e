# -*- coding: utf-8 -*-
"""Corrections to moto 5.2.5 answers that differ from AWS's, kept under tests/ and never shipped.

- UpdateSecurityGroupRuleDescriptionsIngress/Egress: moto answers with an empty body; AWS
  answers {"Return": true}, which amazon.aws.ec2_security_group reads (a KeyError otherwise, the
  first time a rule's description changes, for example on the default egress rule).
- The default VPC: moto makes it without an internet gateway; AWS attaches one and routes
  0.0.0.0/0 to it in the main route table ("Default VPC components",
  https://docs.aws.amazon.com/vpc/latest/userguide/default-vpc.html). Without it no instance in a
  default subnet could reach Session Manager in the lab (lab_reachability.py), as it does on AWS.
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


def install(response_class):
    """Replace the actions in FIXED on moto's EC2 response class, and the default VPC's making (idempotent)."""
    from moto.ec2.models.vpcs import VPCBackend  # noqa: PLC0415

    for name in FIXED:
        _ORIGINALS.setdefault(name, getattr(response_class, name))
        setattr(response_class, name, _with_return(name))
    _ORIGINALS.setdefault("create_default_vpc", VPCBackend.create_default_vpc)
    VPCBackend.create_default_vpc = _create_default_vpc
