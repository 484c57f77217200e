# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of the audit role: security findings, the text dump and the summary of a cluster's AWS configuration.

Thin wrappers: the logic lives in plugin_utils/audit (findings, summary, text), pure and unit tested
without AWS. The data's keys are documented in audit_findings.yml.
"""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.findings import audit_findings
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.summary import audit_summary
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit.text import audit_text


class FilterModule:
    """Audit report filters."""

    def filters(self):
        return {
            "audit_findings": audit_findings,
            "audit_summary": audit_summary,
            "audit_text": audit_text,
        }
