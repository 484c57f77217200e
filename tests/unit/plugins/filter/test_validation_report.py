"""The validation filters are thin: each name is the plugin_utils/validation function it wraps."""

from ansible_collections.nixl_efa.cluster.plugins.filter import validation_report
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation import common
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation import jobs
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation import plan
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation import render
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation import report


def test_filters_are_the_plugin_utils_functions():
    assert validation_report.FilterModule().filters() == {
        "validation_pingpong": common.parse_pingpong,
        "validation_plan": plan.validation_plan,
        "validation_node_jobs": jobs.node_jobs,
        "validation_node_job_results": jobs.node_job_results,
        "validation_report": report.validation_report,
        "validation_results": report.validation_results,
        "validation_markdown": render.validation_markdown,
        "validation_mlflow_batch": render.validation_mlflow_batch,
        "validation_check_line": render.validation_check_line,
        "validation_with_mlflow_report": report.with_mlflow_report,
        "validation_with_plots": report.with_plots,
    }
