# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The expiry role's input rules, whose bounds live in module_utils/expiry_schedule (the module checks the same)."""

from ansible_collections.nixl_efa.cluster.plugins.module_utils import expiry_schedule


def expiry_input_rules(hours, extend_min_minutes, hours_name="expiry_hours", extend_name="expiry_extend_min_minutes"):
    """input_problems rules for the hours (0, empty or null: no expiry) and the extension window."""
    no_expiry = (
        hours is None
        or (isinstance(hours, str) and hours.strip() in ("", "0"))
        or (isinstance(hours, (int, float)) and not isinstance(hours, bool) and hours == 0)
    )
    hours_problem = expiry_schedule.hours_problem(hours, hours_name)
    extend_problem = expiry_schedule.extend_min_problem(extend_min_minutes, extend_name)
    return [
        {
            "that": no_expiry or hours_problem is None,
            "msg": f"{expiry_schedule.hours_problem(None, hours_name)} (0 or unset: no expiry)",
            "got": hours,
        },
        {
            "that": extend_problem is None,
            "msg": expiry_schedule.extend_min_problem(None, extend_name),
            "got": extend_min_minutes,
        },
    ]


class FilterModule:
    """The expiry role's input rules."""

    def filters(self):
        return {"expiry_input_rules": expiry_input_rules}
