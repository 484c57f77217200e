# -*- coding: utf-8 -*-
"""Corrections to moto 5.2.5 answers that differ from AWS's, kept under tests/ and never shipped.

- UpdateSecurityGroupRuleDescriptionsIngress/Egress: moto answers with an empty body; AWS
  answers {"Return": true}, which amazon.aws.ec2_security_group reads (a KeyError otherwise, the
  first time a rule's description changes, for example on the default egress rule).
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


def install(response_class):
    """Replace the actions in FIXED on moto's EC2 response class (idempotent)."""
    for name in FIXED:
        _ORIGINALS.setdefault(name, getattr(response_class, name))
        setattr(response_class, name, _with_return(name))
