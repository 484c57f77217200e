# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters of the validation role: what to run, fi_pingpong parsing, the report and its renderings.

Thin wrappers: the logic lives in plugin_utils/validation (plan, commands, jobs, node_checks, pairs, checks,
hints, report, render, plots), pure and unit tested without a cluster. Each filter's documentation is in the
.yml beside it.
"""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import parse_pingpong
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.jobs import node_job_results
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.jobs import node_jobs
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.plan import validation_plan
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_check_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_markdown
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.render import validation_mlflow_batch
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import validation_report
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import validation_results
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import with_mlflow_report
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.report import with_plots


class FilterModule:
    """Validation role filters."""

    def filters(self):
        return {
            "validation_pingpong": parse_pingpong,
            "validation_plan": validation_plan,
            "validation_node_jobs": node_jobs,
            "validation_node_job_results": node_job_results,
            "validation_report": validation_report,
            "validation_results": validation_results,
            "validation_markdown": validation_markdown,
            "validation_mlflow_batch": validation_mlflow_batch,
            "validation_check_line": validation_check_line,
            "validation_with_mlflow_report": with_mlflow_report,
            "validation_with_plots": with_plots,
        }
