"""The audit filters are thin: each name is the plugin_utils/audit function it wraps."""

from ansible_collections.nixl_efa.cluster.plugins.filter import audit_report
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit import findings
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit import summary
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.audit import text


def test_filters_are_the_plugin_utils_functions():
    assert audit_report.FilterModule().filters() == {
        "audit_findings": findings.audit_findings,
        "audit_summary": summary.audit_summary,
        "audit_text": text.audit_text,
    }
