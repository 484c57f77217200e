#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: expiry_schedule
version_added: 0.3.0
short_description: A one-time EventBridge Scheduler schedule that terminates a cluster's nodes at a deadline
description:
  - Keeps the expiry of a cluster, an Amazon EventBridge Scheduler one-time schedule (an C(at) expression,
    C(yyyy-mm-ddThh:mm:ss), time zone UTC, no flexible time window) whose target is the universal target
    C(arn:aws:scheduler:::aws-sdk:ec2:terminateInstances) with the request C({"InstanceIds":[...]}) as its input.
    At the deadline EventBridge Scheduler itself calls EC2 C(TerminateInstances) under O(role_arn); no Lambda
    function is involved. Once it has run, EventBridge Scheduler deletes the schedule (C(ActionAfterCompletion)
    V(DELETE)); the group stays until O(state=absent).
  - EventBridge Scheduler keeps tags on schedule groups, not on schedules, so the schedule lives in a schedule group
    of its own (O(group)) tagged C(nixl-efa:cluster=)O(cluster). A group of that name that exists without that tag,
    or with another cluster's, is refused with O(state=present), naming it and the tag found, before anything is
    changed; with O(state=absent) it is left alone with a warning.
  - "The deadline is now plus O(hours), rounded up to the next whole minute. B(Extended by a re-run, unchanged by a
    second run right away): a run moves an existing deadline to now + O(hours) only when that is at least
    O(extend_min_minutes) later (or earlier, when the hours were lowered) than the deadline set; within that window
    the deadline stays. When O(instance_ids) differ from the schedule's input (nodes replaced), the input is
    rewritten and the deadline kept."
  - Without O(hours), an existing schedule keeps its deadline (a run that sets no hours never cancels an expiry)
    and only its input follows O(instance_ids); no schedule is created.
  - A group being deleted (state C(DELETING), after a teardown) is waited for, up to O(wait_timeout) seconds, before
    a new one is created.
  - C(UpdateSchedule) replaces a whole schedule, so every update carries every field this module sets and keeps the
    dead-letter queue and KMS key found on the schedule.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  group:
    description:
      - Name of the schedule group, the cluster's own (the C(expiry) role names it C(<cluster>-expiry)).
      - 1 to 64 letters, digits, hyphens, underscores and dots; not V(default) (the account's shared group, which
        carries no cluster's tag).
    type: str
    required: true
  name:
    description: Name of the schedule in the group.
    type: str
    default: terminate-nodes
  cluster:
    description:
      - The cluster whose nodes the schedule terminates, the value of the group's C(nixl-efa:cluster) tag.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the schedule (and its group); V(absent) deletes the schedule, then the group,
        when the group is this cluster's.
    type: str
    choices: [present, absent]
    default: present
  hours:
    description:
      - Hours from now to the deadline, from 0.25 to 8760. The deadline is rounded up to the next whole minute.
      - Unset, an existing schedule keeps its deadline and none is created.
    type: float
  extend_min_minutes:
    description:
      - A run moves an existing deadline only when now + O(hours) is at least this many minutes away from it
        (1 to 10080). A re-run within that window changes nothing.
    type: int
    default: 60
  instance_ids:
    description:
      - The nodes to terminate (EC2 instance ids), the input of C(TerminateInstances). Required with O(hours).
    type: list
    elements: str
  role_arn:
    description:
      - The execution role EventBridge Scheduler assumes to call C(TerminateInstances), trusted by
        C(scheduler.amazonaws.com). Required with O(hours).
    type: str
  description:
    description: Description of the schedule; defaults to one naming the cluster.
    type: str
  tags:
    description:
      - Extra tags of the group (C(nixl-efa:cluster) is always set to O(cluster)).
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove the group's tags that are not in O(tags) (C(aws:) tags excepted).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for a group being deleted to be gone before creating it again.
    type: int
    default: 300
attributes:
  check_mode:
    support: full
    details: Reads the group and the schedule and says what would be created, moved or deleted; writes nothing.
  diff_mode:
    support: full
    details: The schedule's fields before and after (deadline, input, role, target).
notes:
  - Needs C(scheduler:GetScheduleGroup), C(scheduler:CreateScheduleGroup), C(scheduler:ListTagsForResource),
    C(scheduler:TagResource), C(scheduler:UntagResource), C(scheduler:GetSchedule), C(scheduler:CreateSchedule),
    C(scheduler:UpdateSchedule), and for V(absent) C(scheduler:DeleteSchedule) and C(scheduler:DeleteScheduleGroup);
    and C(iam:PassRole) on O(role_arn) (to C(scheduler.amazonaws.com)).
  - A role created moments before may not yet be assumable by EventBridge Scheduler (IAM is eventually consistent);
    the module tries C(CreateSchedule) and C(UpdateSchedule) again for up to 90 seconds when EventBridge Scheduler
    answers that it cannot assume the role.
  - EventBridge Scheduler invokes a one-time schedule within the minute of its deadline and retries a failed call
    for up to a day; a failure after that shows only in its CloudWatch metrics (no dead-letter queue is set).
seealso:
  - name: Using universal targets
    description: How EventBridge Scheduler calls an AWS API operation with a request given as the input.
    link: https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html
  - name: Schedule types
    description: One-time schedules and their at() expressions.
    link: https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
  - name: Managing a schedule group
    description: Tags live on schedule groups; a deleted group stays DELETING until its schedules are gone.
    link: https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-group.html
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Terminate cluster demo's nodes in 24 hours (a re-run within the hour changes nothing)
  nixl_efa.cluster.expiry_schedule:
    group: demo-expiry
    cluster: demo
    hours: 24
    instance_ids: [i-0123456789abcdef0, i-0123456789abcdef1]
    role_arn: arn:aws:iam::123456789012:role/demo-us-east-1-expiry
  register: expiry

- name: Say when
  ansible.builtin.debug:
    msg: "Expires {{ expiry.schedule.expires_at }} ({{ expiry.schedule.remaining }})"

- name: Keep whatever deadline is set, following the nodes now running
  nixl_efa.cluster.expiry_schedule:
    group: demo-expiry
    cluster: demo
    instance_ids: "{{ node_ids }}"

- name: Remove the expiry (the schedule, then its group), only if the group is cluster demo's
  nixl_efa.cluster.expiry_schedule:
    group: demo-expiry
    cluster: demo
    state: absent
"""

RETURN = r"""
schedule:
  description: The schedule as this run left it (or would leave it, in check mode); V({}) when there is none.
  returned: always
  type: dict
  contains:
    name:
      description: Its name.
      type: str
      sample: terminate-nodes
    group:
      description: Its group.
      type: str
      sample: demo-expiry
    arn:
      description: Its ARN (unknown in check mode before it exists).
      type: str
      sample: arn:aws:scheduler:us-east-1:123456789012:schedule/demo-expiry/terminate-nodes
    expression:
      description: Its schedule expression.
      type: str
      sample: at(2026-12-08T19:40:00)
    timezone:
      description: The time zone of the expression.
      type: str
      sample: UTC
    expires_at:
      description: The deadline, ISO 8601 in UTC; null when the expression is not a one-time one in UTC.
      type: str
      sample: "2026-12-08T19:40:00Z"
    remaining:
      description: The time left, in whole minutes, as text.
      type: str
      sample: in 23 h 59 min
    remaining_minutes:
      description: Whole minutes left (negative once passed).
      type: int
      sample: 1439
    state:
      description: V(ENABLED) or V(DISABLED).
      type: str
    action_after_completion:
      description: V(DELETE) (removed once run) or V(NONE).
      type: str
    target_arn:
      description: The universal target.
      type: str
      sample: arn:aws:scheduler:::aws-sdk:ec2:terminateInstances
    role_arn:
      description: The execution role.
      type: str
    instance_ids:
      description: The nodes its input terminates.
      type: list
      elements: str
schedule_group:
  description: The group as this run found or left it; V({}) when there is none.
  returned: always
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    arn:
      description: Its ARN.
      type: str
    state:
      description: V(ACTIVE) or V(DELETING).
      type: str
    tags:
      description: Its tags.
      type: dict
decision:
  description:
    - What happened to the deadline. V(created), V(extended), V(brought_forward) (the hours were lowered),
      V(kept) (within O(extend_min_minutes), or no O(hours) given), V(input_updated) (the nodes changed, the deadline
      kept), V(updated) (other fields restored), V(replaced) (the schedule was not a one-time one in UTC),
      V(no_expiry) (no hours and no schedule), V(deleted), V(absent), or V(left_alone) (another cluster's group).
  returned: always
  type: str
  sample: kept
differences:
  description: The schedule's fields that differed from those wanted (C(ScheduleExpression), C(Target.Input), ...).
  returned: always
  type: list
  elements: str
"""

import datetime
import re

from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags

from ansible_collections.nixl_efa.cluster.plugins.module_utils import expiry_schedule as es
from ansible_collections.nixl_efa.cluster.plugins.module_utils import scheduler_api as api
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import CLUSTER_TAG
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import ownership_advice
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import ownership_problem

GROUP_PATTERN = r"^[0-9a-zA-Z._-]{1,64}$"


def now():
    """The current time; tests replace it."""
    return datetime.datetime.now(datetime.timezone.utc)


def arn_partition(arn):
    """The partition of an ARN (aws, aws-cn, aws-us-gov); aws when there is none."""
    parts = (arn or "").split(":")
    return parts[1] if len(parts) > 1 and parts[0] == "arn" and parts[1] else "aws"


def group_result(group, tags):
    if not group:
        return {}
    return {"name": group.get("Name"), "arn": group.get("Arn"), "state": group.get("State"), "tags": tags or {}}


def diff_view(schedule):
    """The fields a diff shows of a schedule (or request)."""
    if not schedule:
        return {}
    target = schedule.get("Target") or {}
    return {
        "expression": schedule.get("ScheduleExpression"),
        "timezone": schedule.get("ScheduleExpressionTimezone"),
        "state": schedule.get("State"),
        "action_after_completion": schedule.get("ActionAfterCompletion"),
        "target_arn": target.get("Arn"),
        "role_arn": target.get("RoleArn"),
        "instance_ids": es.input_instance_ids(target.get("Input")),
    }


def read_group(module, client):
    """(group, tags, problem): the group of this name, its tags, and the refusal when it is not this cluster's."""
    params = module.params
    group = api.get_group(client, params["group"])
    if not group:
        return None, {}, None
    tags = api.group_tags(client, group["Arn"]) or {}
    problem = ownership_problem("Schedule group", tags, CLUSTER_TAG, params["cluster"], name=params["group"])
    return group, tags, problem


def ensure_absent(module, client):
    params = module.params
    group, tags, problem = read_group(module, client)
    if not group:
        module.exit_json(changed=False, schedule={}, schedule_group={}, decision="absent", differences=[])
    if problem:
        module.warn(f"{problem} Left alone.")
        module.exit_json(
            changed=False, schedule={}, schedule_group=group_result(group, tags), decision="left_alone", differences=[]
        )
    current = api.get_schedule(client, params["group"], params["name"]) if group.get("State") != "DELETING" else None
    if group.get("State") == "DELETING" and not current:
        module.exit_json(
            changed=False, schedule={}, schedule_group=group_result(group, tags), decision="absent", differences=[]
        )
    if not module.check_mode:
        # The schedule first: schedules of a group being deleted may still run until they are gone.
        if current:
            api.delete_schedule(client, params["group"], params["name"])
        api.delete_group(client, params["group"])
    module.exit_json(
        changed=True,
        schedule={},
        schedule_group=group_result(group, tags),
        decision="deleted",
        differences=[],
        diff={"before": diff_view(current), "after": {}},
    )


def ensure_group(module, client, group, tags):
    """The group, created (tagged) when missing and its tags brought to those wanted; (group, tags, changed)."""
    params = module.params
    wanted = {str(k): str(v) for k, v in (params["tags"] or {}).items()}
    wanted[CLUSTER_TAG] = params["cluster"]
    if group and group.get("State") == "DELETING":
        if module.check_mode:
            return None, {}, True
        api.wait_group_deleted(client, params["group"], params["wait_timeout"])
        group = None
    if not group:
        if module.check_mode:
            return {"Name": params["group"], "State": "ACTIVE"}, wanted, True
        arn = api.create_group(client, params["group"], wanted)
        return {"Name": params["group"], "Arn": arn, "State": "ACTIVE"}, wanted, True
    to_set, to_unset = compare_aws_tags(tags, wanted, purge_tags=params["purge_tags"])
    if not to_set and not to_unset:
        return group, tags, False
    if not module.check_mode:
        if to_unset:
            api.untag_group(client, group["Arn"], to_unset)
        if to_set:
            api.tag_group(client, group["Arn"], to_set)
    tags = {k: v for k, v in tags.items() if k not in to_unset}
    tags.update(to_set)
    return group, tags, True


def ensure_present(module, client):
    params = module.params
    group, tags, problem = read_group(module, client)
    if problem:
        module.fail_json(
            msg=f"{problem} {ownership_advice(CLUSTER_TAG, params['cluster'])}",
            schedule_group=group_result(group, tags),
        )
    current = (
        api.get_schedule(client, params["group"], params["name"]) if group and group["State"] == "ACTIVE" else None
    )
    at = now()
    partition = arn_partition(params["role_arn"] or ((current or {}).get("Target") or {}).get("RoleArn"))
    description = params["description"] or f"nixl_efa.cluster: terminate the nodes of cluster {params['cluster']}"
    decided = es.plan(
        current,
        at,
        hours=params["hours"],
        role_arn=params["role_arn"],
        instance_ids=params["instance_ids"],
        group=params["group"],
        name=params["name"],
        partition=partition,
        description=description,
        extend_min_minutes=params["extend_min_minutes"],
    )
    if decided["action"] == "none" and not current:
        # No hours and no schedule: nothing to keep, and nothing is created (not even the group).
        module.exit_json(
            changed=False, schedule={}, schedule_group=group_result(group, tags), decision=decided["decision"],
            differences=[],
        )  # fmt: skip
    group, tags, group_changed = ensure_group(module, client, group, tags)
    request = decided["request"]
    arn = (current or {}).get("Arn")
    if decided["action"] == "create" and not module.check_mode:
        arn = api.create_schedule(client, request)
    elif decided["action"] == "update" and not module.check_mode:
        arn = api.update_schedule(client, request)
    after = request if decided["action"] != "none" else current
    module.exit_json(
        changed=group_changed or decided["action"] != "none",
        schedule=es.summarize(dict(after, Arn=arn), at),
        schedule_group=group_result(group, tags),
        decision=decided["decision"],
        differences=decided["differences"],
        diff={"before": diff_view(current), "after": diff_view(after)},
    )


def validate(module):
    params = module.params
    rule = "must be 1 to 64 letters, digits, hyphens, underscores and dots"
    if not re.match(GROUP_PATTERN, params["group"]) or params["group"] == "default":
        module.fail_json(msg=f"group {rule}, and not the account's shared 'default' group; got {params['group']!r}")
    if not re.match(GROUP_PATTERN, params["name"]):
        module.fail_json(msg=f"name {rule}; got {params['name']!r}")
    if not params["cluster"].strip():
        module.fail_json(msg="cluster must not be empty")
    problems = []
    if params["state"] == "present":
        if params["hours"] is not None:
            problems.append(es.hours_problem(params["hours"]))
            problems.append(es.instance_ids_problem(params["instance_ids"]))
            if not params["role_arn"]:
                problems.append("role_arn is required with hours (the execution role EventBridge Scheduler assumes)")
        elif params["instance_ids"] is not None:
            problems.append(es.instance_ids_problem(params["instance_ids"]))
        problems.append(es.extend_min_problem(params["extend_min_minutes"]))
        if params["wait_timeout"] < 0:
            problems.append("wait_timeout must not be negative")
    problems = [p for p in problems if p]
    if problems:
        module.fail_json(msg="; ".join(problems) + ". Nothing was changed.")


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            group=dict(type="str", required=True),
            name=dict(type="str", default=es.DEFAULT_SCHEDULE_NAME),
            cluster=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            hours=dict(type="float"),
            extend_min_minutes=dict(type="int", default=es.DEFAULT_EXTEND_MIN_MINUTES),
            instance_ids=dict(type="list", elements="str"),
            role_arn=dict(type="str"),
            description=dict(type="str"),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
            wait_timeout=dict(type="int", default=300),
        ),
        supports_check_mode=True,
    )
    validate(module)
    client = module.client("scheduler")
    try:
        if module.params["state"] == "absent":
            ensure_absent(module, client)
        ensure_present(module, client)
    except AnsibleAWSError as e:
        module.fail_json_aws_error(e)


if __name__ == "__main__":
    main()
