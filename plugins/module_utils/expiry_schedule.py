# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A cluster that cannot be forgotten: the rules of its expiry schedule, without any AWS call.

The cluster's nodes are terminated at a deadline by a one-time Amazon EventBridge Scheduler schedule whose
target is the universal target ``arn:<partition>:scheduler:::aws-sdk:ec2:terminateInstances``: EventBridge
Scheduler calls EC2 TerminateInstances itself, with the schedule's Input as the request
(``{"InstanceIds": [...]}``), under the schedule's execution role. No Lambda function is involved.
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html)

What is decided here, and tested without AWS (the expiry_schedule module makes the calls):

- the deadline: now plus the hours asked for, rounded up to the next whole minute (EventBridge Scheduler
  invokes one-time schedules with a precision of one minute), written as ``at(yyyy-mm-ddThh:mm:ss)`` in UTC
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html);
- the bounds of the hours: at least MIN_HOURS (a deadline sooner than a provisioning run takes would cut the
  run short) and at most MAX_HOURS (a year; a deadline further off guards nothing);
- the extension rule: a re-run moves the deadline to now + hours only when that differs from the current
  deadline by at least ``extend_min_minutes`` (later: the cluster is extended; earlier: the hours were lowered);
  a re-run within that window keeps the deadline, so a second run right away changes nothing;
- the target's input: the node ids, sorted and unique; nodes replaced since the schedule was written make the
  input differ, and the input is then rewritten while the deadline is kept;
- the comparison of the schedule as read (GetSchedule) with the one wanted, field by field. UpdateSchedule
  replaces the whole schedule and resets what a request leaves out
  (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_UpdateSchedule.html), so every request carries
  every field this collection sets, and keeps the dead-letter queue and KMS key someone may have added.
"""

from __future__ import annotations

import datetime
import json
import math
import re

# The universal target: EC2's TerminateInstances, called by EventBridge Scheduler itself.
TARGET_SERVICE = "ec2"
TARGET_ACTION = "terminateInstances"
# One-time schedules in UTC, invoked at the minute (no flexible window), deleted once they have run.
TIMEZONE = "UTC"
FLEXIBLE_TIME_WINDOW = {"Mode": "OFF"}
ACTION_AFTER_COMPLETION = "DELETE"
STATE = "ENABLED"
# EventBridge Scheduler's default retry policy, written out so that a read-back compares equal: retried for up
# to a day (the most it allows), up to 185 times (the most it allows).
RETRY_POLICY = {"MaximumEventAgeInSeconds": 86400, "MaximumRetryAttempts": 185}
# The schedule's name in the cluster's group (the group carries the cluster's name).
DEFAULT_SCHEDULE_NAME = "terminate-nodes"

# The hours a cluster may be given: a quarter of an hour to a year.
MIN_HOURS = 0.25
MAX_HOURS = 8760
# A re-run moves the deadline only by at least this many minutes.
DEFAULT_EXTEND_MIN_MINUTES = 60
MAX_EXTEND_MIN_MINUTES = 10080
# TerminateInstances takes up to 1000 instance ids in one request.
MAX_INSTANCE_IDS = 1000

AT_PATTERN = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")
INSTANCE_ID_PATTERN = re.compile(r"^i-[0-9a-f]{8,17}$")
# The time zones this collection reads an at() expression in; any other is rewritten in UTC.
UTC_NAMES = ("UTC", "Etc/UTC", "GMT", "Etc/GMT")


class ExpiryError(ValueError):
    """Input the expiry schedule cannot take."""


def target_arn(partition="aws"):
    """The universal target of EC2 TerminateInstances, in the caller's partition."""
    return f"arn:{partition}:scheduler:::aws-sdk:{TARGET_SERVICE}:{TARGET_ACTION}"


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def hours_problem(value, name="hours"):
    """None when `value` is a number of hours the expiry accepts; else a sentence naming `name` and the rule."""
    rule = f"{name} must be a number of hours from {MIN_HOURS:g} to {MAX_HOURS:g}"
    if isinstance(value, bool) or value is None:
        return rule
    try:
        hours = float(value)
    except (TypeError, ValueError):
        return rule
    if math.isnan(hours) or not MIN_HOURS <= hours <= MAX_HOURS:
        return rule
    return None


def extend_min_problem(value, name="extend_min_minutes"):
    """None when `value` is a whole number of minutes from 1 to MAX_EXTEND_MIN_MINUTES; else the rule."""
    rule = f"{name} must be a whole number of minutes from 1 to {MAX_EXTEND_MIN_MINUTES}"
    if isinstance(value, bool):
        return rule
    try:
        minutes = int(str(value))
    except (TypeError, ValueError):
        return rule
    return None if 1 <= minutes <= MAX_EXTEND_MIN_MINUTES else rule


def instance_ids_problem(ids, name="instance_ids"):
    """None when `ids` is a non-empty list of EC2 instance ids within TerminateInstances' limit."""
    if not isinstance(ids, (list, tuple)) or not ids:
        return f"{name} must list the nodes to terminate (at least one instance id)"
    wrong = [str(i) for i in ids if not isinstance(i, str) or not INSTANCE_ID_PATTERN.match(i)]
    if wrong:
        return f"{name} must be EC2 instance ids (i-...); not: {', '.join(wrong)}"
    if len(set(ids)) > MAX_INSTANCE_IDS:
        return f"{name} has {len(set(ids))} ids; TerminateInstances takes at most {MAX_INSTANCE_IDS}"
    return None


def deadline_for(now, hours):
    """now + hours, rounded up to the next whole minute, in UTC (aware)."""
    if now.tzinfo is None:
        raise ExpiryError("the current time must carry its time zone")
    due = now.astimezone(datetime.timezone.utc) + datetime.timedelta(hours=float(hours))
    whole = due.replace(second=0, microsecond=0)
    return whole if whole == due else whole + datetime.timedelta(minutes=1)


def at_expression(deadline):
    """The one-time schedule expression of `deadline`: at(yyyy-mm-ddThh:mm:ss), in UTC."""
    return "at({})".format(deadline.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))


def parse_at(expression, timezone=TIMEZONE):
    """The deadline of an at() expression in a UTC time zone, aware; None for any other expression or zone."""
    match = AT_PATTERN.match(expression or "")
    if not match or (timezone or TIMEZONE) not in UTC_NAMES:
        return None
    try:
        return datetime.datetime(*(int(part) for part in match.groups()), tzinfo=datetime.timezone.utc)
    except ValueError:
        return None


def iso(deadline):
    """2026-12-08T19:40:00Z."""
    return deadline.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def target_input(instance_ids):
    """TerminateInstances' request as the universal target's Input: the ids sorted and unique, compact JSON."""
    return json.dumps({"InstanceIds": sorted(set(instance_ids))}, separators=(",", ":"))


def input_instance_ids(text):
    """The instance ids of a schedule's Input, sorted and unique; None when the Input is not such a request."""
    try:
        request = json.loads(text or "")
    except ValueError:
        return None
    ids = request.get("InstanceIds") if isinstance(request, dict) else None
    if set(request or {}) != {"InstanceIds"} or not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return None
    return sorted(set(ids))


def next_deadline(current, wanted, extend_min_minutes=DEFAULT_EXTEND_MIN_MINUTES):
    """(deadline, decision): where the deadline goes when `wanted` is asked and `current` is set.

    decision is "created" (no current deadline), "extended" (wanted is at least extend_min_minutes later),
    "brought_forward" (at least that much earlier: the hours were lowered) or "kept" (within the window).
    """
    if current is None:
        return wanted, "created"
    window = datetime.timedelta(minutes=int(extend_min_minutes))
    if wanted - current >= window:
        return wanted, "extended"
    if current - wanted >= window:
        return wanted, "brought_forward"
    return current, "kept"


def remaining_text(deadline, now):
    """'in 23 h 59 min', 'in 5 min', or 'passed 3 min ago', in whole minutes (rounded down)."""
    seconds = (deadline - now).total_seconds()
    minutes = int(abs(seconds) // 60)
    hours, rest = divmod(minutes, 60)
    text = f"{hours} h {rest} min" if hours else f"{rest} min"
    return f"in {text}" if seconds >= 0 else f"passed {text} ago"


def wanted_schedule(group, name, deadline, role_arn, instance_ids, partition="aws", description=None, current=None):
    """The CreateSchedule/UpdateSchedule request of the expiry schedule (every field this collection sets).

    A dead-letter queue and a KMS key found on `current` (the schedule as read) are carried over: UpdateSchedule
    would otherwise remove them.
    """
    target = {
        "Arn": target_arn(partition),
        "RoleArn": role_arn,
        "Input": target_input(instance_ids),
        "RetryPolicy": dict(RETRY_POLICY),
    }
    request = {
        "GroupName": group,
        "Name": name,
        "ScheduleExpression": at_expression(deadline),
        "ScheduleExpressionTimezone": TIMEZONE,
        "FlexibleTimeWindow": dict(FLEXIBLE_TIME_WINDOW),
        "ActionAfterCompletion": ACTION_AFTER_COMPLETION,
        "State": STATE,
        "Target": target,
    }
    if description:
        request["Description"] = description
    current = current or {}
    if (current.get("Target") or {}).get("DeadLetterConfig"):
        target["DeadLetterConfig"] = current["Target"]["DeadLetterConfig"]
    if current.get("KmsKeyArn"):
        request["KmsKeyArn"] = current["KmsKeyArn"]
    return request


def differences(current, wanted):
    """The fields of `wanted` (a request) that the schedule as read (`current`) does not have, as field names.

    The Input compares by its instance ids; dates the collection never sets (StartDate, EndDate) count as a
    difference when present, since an EndDate before the deadline would keep the schedule from running.
    """
    found = []
    for key in ("ScheduleExpression", "FlexibleTimeWindow", "ActionAfterCompletion", "State", "Description"):
        if key in wanted and current.get(key) != wanted[key]:
            found.append(key)
    if (current.get("ScheduleExpressionTimezone") or TIMEZONE) != wanted["ScheduleExpressionTimezone"]:
        found.append("ScheduleExpressionTimezone")
    if current.get("StartDate") or current.get("EndDate"):
        found.append("StartDate/EndDate")
    now_target = current.get("Target") or {}
    want_target = wanted["Target"]
    for key in ("Arn", "RoleArn", "RetryPolicy"):
        if now_target.get(key) != want_target.get(key):
            found.append(f"Target.{key}")
    if input_instance_ids(now_target.get("Input")) != input_instance_ids(want_target["Input"]):
        found.append("Target.Input")
    return found


def summarize(schedule, now):
    """The schedule as the module returns it (snake_case), with its deadline and the time left."""
    if not schedule:
        return {}
    target = schedule.get("Target") or {}
    deadline = parse_at(schedule.get("ScheduleExpression"), schedule.get("ScheduleExpressionTimezone"))
    return {
        "name": schedule.get("Name"),
        "group": schedule.get("GroupName"),
        "arn": schedule.get("Arn"),
        "expression": schedule.get("ScheduleExpression"),
        "timezone": schedule.get("ScheduleExpressionTimezone") or TIMEZONE,
        "expires_at": iso(deadline) if deadline else None,
        "remaining": remaining_text(deadline, now) if deadline else None,
        "remaining_minutes": int((deadline - now).total_seconds() // 60) if deadline else None,
        "state": schedule.get("State"),
        "action_after_completion": schedule.get("ActionAfterCompletion") or "NONE",
        "target_arn": target.get("Arn"),
        "role_arn": target.get("RoleArn"),
        "instance_ids": input_instance_ids(target.get("Input")),
    }


def plan(current, now, hours=None, role_arn=None, instance_ids=None, group=None, name=DEFAULT_SCHEDULE_NAME,
         partition="aws", description=None, extend_min_minutes=DEFAULT_EXTEND_MIN_MINUTES):  # fmt: skip
    """What to do with the expiry schedule: {"action", "decision", "request", "differences", "deadline"}.

    action is "create", "update" or "none". With `hours`, the deadline follows next_deadline; without, an
    existing schedule keeps its deadline (a run that sets no hours never cancels an expiry) and only its
    instance ids follow `instance_ids` when given; no schedule is created.
    """
    current_deadline = parse_at(
        (current or {}).get("ScheduleExpression"), (current or {}).get("ScheduleExpressionTimezone")
    )
    if hours is None:
        if not current:
            return {"action": "none", "decision": "no_expiry", "request": None, "differences": [], "deadline": None}
        if current_deadline is None:
            # Not a one-time schedule in UTC (edited by hand): without hours there is no deadline to restore.
            return {"action": "none", "decision": "kept", "request": None, "differences": [], "deadline": None}
        ids = instance_ids or input_instance_ids((current.get("Target") or {}).get("Input")) or []
        role_arn = (current.get("Target") or {}).get("RoleArn")
        deadline, decision = current_deadline, "kept"
    else:
        deadline, decision = next_deadline(current_deadline, deadline_for(now, hours), extend_min_minutes)
        ids = instance_ids or []
        if current and current_deadline is None:
            decision = "replaced"
    request = wanted_schedule(
        group or (current or {}).get("GroupName"), name, deadline, role_arn, ids, partition, description, current
    )
    if not current:
        return {"action": "create", "decision": decision, "request": request, "differences": [], "deadline": deadline}
    found = differences(current, request)
    if not found:
        return {"action": "none", "decision": decision, "request": request, "differences": [], "deadline": deadline}
    if decision == "kept" and found != ["ScheduleExpression"]:
        decision = "input_updated" if found == ["Target.Input"] else "updated"
    return {"action": "update", "decision": decision, "request": request, "differences": found, "deadline": deadline}


# A waiter for a schedule group being deleted: DeleteScheduleGroup leaves the group in the DELETING state until
# EventBridge Scheduler has deleted its schedules
# (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-group-delete.html); a group of the
# same name can be created again only once GetScheduleGroup answers ResourceNotFoundException. botocore ships no
# waiter for EventBridge Scheduler.
GROUP_DELETED_WAITER = {
    "version": 2,
    "waiters": {
        "ScheduleGroupDeleted": {
            "operation": "GetScheduleGroup",
            "delay": 5,
            "maxAttempts": 60,
            "acceptors": [
                {"matcher": "error", "expected": "ResourceNotFoundException", "state": "success"},
                {"matcher": "path", "argument": "State", "expected": "DELETING", "state": "retry"},
                {"matcher": "path", "argument": "State", "expected": "ACTIVE", "state": "failure"},
            ],
        }
    },
}
