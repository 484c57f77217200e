# -*- coding: utf-8 -*-
"""The lab's EventBridge Scheduler: moto 5.2's scheduler records schedules; this stand-in also RUNS them.

A STAND-IN, kept under lab/ and never shipped. moto 5.2 has a scheduler backend that stores schedule groups,
schedules (at() expressions, ActionAfterCompletion) and the groups' tags, but never invokes a target, and differs
from AWS in ways a cluster's expiry depends on. What this module changes and adds:

Corrections of moto's answers, each as the EventBridge Scheduler API Reference describes the call
(https://docs.aws.amazon.com/scheduler/latest/APIReference/Welcome.html):
- CreateScheduleGroup of a name that exists answers ConflictException (moto replaces the group, dropping its
  schedules);
- DeleteScheduleGroup of a missing group answers ResourceNotFoundException (moto fails with an internal error), the
  default group cannot be deleted (ValidationException), and the group's tags go with it;
- CreateSchedule into a missing group answers ResourceNotFoundException (moto: internal error); an expression that
  is not at(yyyy-mm-ddThh:mm:ss), rate(...) or cron(...) answers ValidationException;
- UpdateSchedule sets ActionAfterCompletion from the request, NONE when left out (moto keeps the old value), and
  State ENABLED when left out (moto leaves it unset): UpdateSchedule replaces the whole schedule, a field left out
  taking its default
  (https://docs.aws.amazon.com/scheduler/latest/APIReference/API_UpdateSchedule.html);
- ListTagsForResource of a schedule group that does not exist answers ResourceNotFoundException.
Not modelled: a deleted group's DELETING state (the lab deletes at once), client tokens, KMS keys, dead-letter
queues, flexible time windows (the lab invokes at the deadline itself).

Invocation of due one-time schedules (the universal target EC2 TerminateInstances only), as AWS describes it:
- a one-time schedule, at(yyyy-mm-ddThh:mm:ss) in its ScheduleExpressionTimezone, runs once at that time
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), when ENABLED;
- its universal target arn:<partition>:scheduler:::aws-sdk:<service>:<apiAction> calls that API with the target's
  Input as the request, under the target's execution role
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html). The lab runs
  ec2:terminateInstances only; any other target is recorded as a failed invocation saying so;
- the execution role must exist and trust scheduler.amazonaws.com for sts:AssumeRole; the lab evaluates the trust
  policy's conditions with aws:SourceAccount (the schedule's account) and aws:SourceArn (the ARN of the schedule's
  GROUP: AWS's confused-deputy guidance for the execution role scopes aws:SourceArn to a schedule group and warns
  against naming a schedule there, https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html;
  the role itself: https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role);
- the role's policies (inline and attached managed) must allow ec2:TerminateInstances on every instance of the
  request, each evaluated with its tags as aws:ResourceTag/<key> and ec2:ResourceTag/<key> (operators StringEquals,
  StringNotEquals, StringLike, StringNotLike, ArnEquals, ArnLike, ArnNotLike, Bool, with IfExists; an explicit Deny
  wins; a condition operator the lab does not know makes an Allow not apply and a Deny apply). A refusal is recorded
  as a failed invocation with EC2's UnauthorizedOperation, as EC2 would answer the call; permission boundaries,
  SCPs and session policies are not evaluated;
- the allowed call is made against the lab's own EC2 endpoint (HTTP on loopback), so the lab's instance stand-ins
  apply: EC2 refuses the whole request when one id does not exist, and terminating a terminated instance succeeds
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_TerminateInstances.html);
- a failed invocation is tried again on a later firing until the target's RetryPolicy is spent
  (MaximumRetryAttempts, MaximumEventAgeInSeconds after the deadline); once the schedule has run or its retries are
  spent, ActionAfterCompletion DELETE deletes it, NONE keeps it, and it does not run again
  (https://aws.amazon.com/blogs/compute/automatically-delete-schedules-upon-completion-with-amazon-eventbridge-scheduler/).
  AWS retries on its own clock with backoff; the lab makes one attempt per firing.

Every invocation is recorded (time, schedule, target, input, role, outcome, error, what was terminated).

LAB-ONLY controls, on the lab's own loopback port (a real account has no such endpoint, and nothing in the
collection calls them):
  POST /lab/scheduler/fire {"as_of": "2026-12-08T19:41:00Z"}   run what is due as of that time (default: now)
  GET  /lab/scheduler/invocations                                 every invocation recorded
`lab/labctl.py scheduler fire [--as-of TIME]` and `lab/labctl.py scheduler invocations` call them. A clock fires
what is due as of now every LAB_SCHEDULER_CLOCK seconds (default 30; 0 turns it off), so a lab left running
expires its clusters as AWS would.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import os
import re
import threading
import urllib.request

import botocore.session
import zoneinfo
from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError
from moto.core.exceptions import JsonRESTError
from moto.ec2.models import ec2_backends
from moto.iam.models import iam_backends
from moto.scheduler.models import EventBridgeSchedulerBackend
from moto.scheduler.models import scheduler_backends
from moto.utilities.utils import get_partition

CLOCK_ENV = "LAB_SCHEDULER_CLOCK"
DEFAULT_CLOCK_SECONDS = 30
SCHEDULER_SERVICE = "scheduler.amazonaws.com"
AT = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")
EXPRESSION = re.compile(r"^(at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)|rate\(.+\)|cron\(.+\))$")
UNIVERSAL = re.compile(r"^arn:(aws[a-z-]*):scheduler:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)$")
# The one universal target the lab runs.
RUNS = ("ec2", "terminateInstances")

_LOCK = threading.RLock()
INVOCATIONS: list[dict] = []
# Schedules done with (ran, or retries spent), by ARN, expression and last modification: an update runs again.
_DONE: set = set()
_ATTEMPTS: dict = {}
_ORIGINALS: dict = {}


class SchedulerError(JsonRESTError):
    """An EventBridge Scheduler error with its HTTP status."""

    def __init__(self, error_type, message, status=400):
        super().__init__(error_type, message)
        self.code = status


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def parse_time(text):
    """An ISO 8601 time ("Z" or an offset; naive means UTC) as an aware datetime; ValueError otherwise."""
    value = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)


def deadline(schedule):
    """When a one-time schedule runs (aware), or None for a recurring one or a bad time zone."""
    match = AT.match(schedule.schedule_expression or "")
    if not match:
        return None
    try:
        zone = zoneinfo.ZoneInfo(schedule.schedule_expression_timezone or "UTC")
        return datetime.datetime(*(int(p) for p in match.groups()), tzinfo=zone).astimezone(datetime.timezone.utc)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return None


# Corrections of moto's scheduler ---------------------------------------------------------------------------------


def create_schedule_group(self, name, tags):
    if name in self.schedule_groups:
        raise SchedulerError("ConflictException", f"Schedule group {name} already exists.", 409)
    return _ORIGINALS["create_schedule_group"](self, name, tags)


def delete_schedule_group(self, name):
    name = name or "default"
    if name == "default":
        raise SchedulerError("ValidationException", "The default schedule group cannot be deleted.")
    if name not in self.schedule_groups:
        raise SchedulerError("ResourceNotFoundException", f"Schedule group {name} does not exist.", 404)
    group = self.schedule_groups.pop(name)
    self.tagger.delete_all_tags_for_resource(group.arn)


def create_schedule(self, **kwargs):
    group = kwargs.get("group_name") or "default"
    if group not in self.schedule_groups:
        raise SchedulerError("ResourceNotFoundException", f"Schedule group {group} does not exist.", 404)
    _check_expression(kwargs.get("schedule_expression"))
    return _ORIGINALS["create_schedule"](self, **kwargs)


def update_schedule(self, **kwargs):
    _check_expression(kwargs.get("schedule_expression"))
    schedule = _ORIGINALS["update_schedule"](self, **kwargs)
    schedule.action_after_completion = getattr(_UPDATE, "action_after_completion", None) or "NONE"
    schedule.state = schedule.state or "ENABLED"
    return schedule


def list_tags_for_resource(self, resource_arn):
    if ":schedule-group/" in resource_arn and not any(g.arn == resource_arn for g in self.schedule_groups.values()):
        raise SchedulerError("ResourceNotFoundException", f"Resource {resource_arn} does not exist.", 404)
    return _ORIGINALS["list_tags_for_resource"](self, resource_arn)


def _check_expression(expression):
    if not EXPRESSION.match(expression or ""):
        raise SchedulerError("ValidationException", f"Invalid Schedule Expression {expression}.")


# moto's UpdateSchedule response handler does not pass ActionAfterCompletion to the backend: it is read here from
# the request being answered (one request per thread).
_UPDATE = threading.local()


def _update_schedule_response(self):
    _UPDATE.action_after_completion = self._get_param("ActionAfterCompletion")
    try:
        return _ORIGINALS["update_schedule_response"](self)
    finally:
        _UPDATE.action_after_completion = None


# IAM evaluation (what the lab needs of it) ---------------------------------------------------------------------


class UnknownOperator(Exception):
    """A condition operator the lab does not evaluate."""


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _like(value, pattern):
    return fnmatch.fnmatchcase(str(value), str(pattern))


_OPERATORS = {
    "StringEquals": lambda v, w: str(v) in map(str, w),
    "StringNotEquals": lambda v, w: str(v) not in map(str, w),
    "StringLike": lambda v, w: any(_like(v, p) for p in w),
    "StringNotLike": lambda v, w: not any(_like(v, p) for p in w),
    "ArnEquals": lambda v, w: str(v) in map(str, w),
    "ArnLike": lambda v, w: any(_like(v, p) for p in w),
    "ArnNotLike": lambda v, w: not any(_like(v, p) for p in w),
    "Bool": lambda v, w: str(v).lower() in [str(x).lower() for x in w],
}


def conditions_hold(conditions, context):
    """Whether every condition of a statement holds for `context` (keys compared without case)."""
    values = {k.lower(): v for k, v in context.items()}
    for operator, block in (conditions or {}).items():
        name, if_exists = (operator[: -len("IfExists")], True) if operator.endswith("IfExists") else (operator, False)
        test = _OPERATORS.get(name)
        if test is None:
            raise UnknownOperator(operator)
        for key, wanted in block.items():
            value = values.get(key.lower())
            if value is None:
                if if_exists:
                    continue
                return False
            if not test(value, _as_list(wanted)):
                return False
    return True


def _principal_matches(principal, service):
    if principal == "*":
        return True
    return isinstance(principal, dict) and service in _as_list(principal.get("Service", []))


def _any_action(action, patterns):
    """Whether an action matches one of the patterns (IAM compares actions without case)."""
    return any(_like(action.lower(), str(p).lower()) for p in _as_list(patterns))


def evaluate(documents, action, resource=None, context=None, service=None):
    """'allowed', 'denied' (an explicit Deny) or 'not allowed' (no Allow applies) for one request."""
    allowed = False
    for document in documents:
        statements = _as_list((json.loads(document) if isinstance(document, str) else document).get("Statement", []))
        for statement in statements:
            if service is not None and not _principal_matches(statement.get("Principal"), service):
                continue
            if "Action" in statement and not _any_action(action, statement["Action"]):
                continue
            if "NotAction" in statement and _any_action(action, statement["NotAction"]):
                continue
            if resource is not None:
                if "Resource" in statement and not any(_like(resource, r) for r in _as_list(statement["Resource"])):
                    continue
                if "NotResource" in statement and any(_like(resource, r) for r in _as_list(statement["NotResource"])):
                    continue
            deny = statement.get("Effect") == "Deny"
            try:
                holds = conditions_hold(statement.get("Condition"), context or {})
            except UnknownOperator:
                holds = deny  # fail closed: an unknown condition never allows, always denies
            if not holds:
                continue
            if deny:
                return "denied"
            allowed = True
    return "allowed" if allowed else "not allowed"


def _role_documents(role):
    inline = list(role.policies.values())
    managed = [
        next((v.document for v in policy.versions if v.is_default), None) for policy in role.managed_policies.values()
    ]
    return inline + [d for d in managed if d]


# Invocation ----------------------------------------------------------------------------------------------------


def _key(schedule):
    return (schedule.arn, schedule.schedule_expression, schedule.last_modified_date)


def _instance_ids(backend):
    return {instance.id for reservation in backend.reservations.values() for instance in reservation.instances}


def _refusal(schedule, account, request):
    """None when the execution role may make the request; else (error code, message)."""
    role_arn = schedule.target.get("RoleArn") or ""
    partition = get_partition(schedule.arn.split(":")[3])
    iam = iam_backends[account][partition]
    try:
        role = iam.get_role_by_arn(role_arn)
    except Exception:  # moto's IAMNotFoundException
        return "AccessDenied", f"the execution role {role_arn} does not exist"
    group_arn = scheduler_backends[account][schedule.arn.split(":")[3]].schedule_groups[schedule.group_name].arn
    context = {"aws:SourceAccount": account, "aws:SourceArn": group_arn}
    trust = evaluate([role.assume_role_policy_document], "sts:AssumeRole", context=context, service=SCHEDULER_SERVICE)
    if trust != "allowed":
        return "AccessDenied", (
            f"EventBridge Scheduler cannot assume {role_arn}: its trust policy does not allow {SCHEDULER_SERVICE} "
            f"sts:AssumeRole for this schedule ({trust})"
        )
    region = schedule.arn.split(":")[3]
    ec2 = ec2_backends[account][region]
    existing = _instance_ids(ec2)
    refused = []
    for instance_id in request.get("InstanceIds") or []:
        if instance_id not in existing:
            continue  # EC2 itself answers InvalidInstanceID.NotFound for the whole request
        tags = ec2.tags.get(instance_id, {})
        context = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
        context.update({f"ec2:ResourceTag/{k}": v for k, v in tags.items()})
        resource = f"arn:{partition}:ec2:{region}:{account}:instance/{instance_id}"
        outcome = evaluate(_role_documents(role), "ec2:TerminateInstances", resource, context)
        if outcome != "allowed":
            refused.append(f"{instance_id} ({outcome})")
    if refused:
        return "UnauthorizedOperation", (
            f"You are not authorized to perform this operation: {role_arn} may not ec2:TerminateInstances on "
            f"{', '.join(refused)}"
        )
    return None


def _call(lab_url, region, operation, request):
    client = botocore.session.get_session().create_client(
        "ec2", region_name=region, endpoint_url=lab_url, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return getattr(client, operation)(**request)


def invoke(schedule, account, region, as_of, lab_url):
    """Run one due schedule's target; return the invocation's record."""
    target = schedule.target or {}
    attempt = _ATTEMPTS.get(_key(schedule), 0) + 1
    _ATTEMPTS[_key(schedule)] = attempt
    record = {
        "as_of": as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "invoked_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "schedule_arn": schedule.arn,
        "group": schedule.group_name,
        "name": schedule.name,
        "expression": schedule.schedule_expression,
        "target_arn": target.get("Arn"),
        "role_arn": target.get("RoleArn"),
        "input": target.get("Input"),
        "attempt": attempt,
        "terminated": [],
    }
    match = UNIVERSAL.match(target.get("Arn") or "")
    error = None
    if not match or (match.group(2), match.group(3)) != RUNS:
        error = ("LabUnsupportedTarget", "the lab runs the universal target aws-sdk:ec2:terminateInstances only")
    else:
        try:
            request = json.loads(target.get("Input") or "{}")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            error = ("ValidationException", "the target's Input is not a JSON object")
        else:
            error = _refusal(schedule, account, request)
            if error is None:
                try:
                    answer = _call(lab_url, region, "terminate_instances", request)
                    record["terminated"] = [i["InstanceId"] for i in answer.get("TerminatingInstances", [])]
                except ClientError as e:
                    error = (e.response["Error"].get("Code"), e.response["Error"].get("Message"))
                except BotoCoreError as e:
                    error = ("LabCallFailed", str(e))
    record["outcome"] = "failed" if error else "succeeded"
    if error:
        record["error_code"], record["error"] = error
    policy = target.get("RetryPolicy") or {}
    spent = bool(error) and (
        attempt > int(policy.get("MaximumRetryAttempts", 185))
        or as_of >= deadline(schedule) + datetime.timedelta(seconds=int(policy.get("MaximumEventAgeInSeconds", 86400)))
    )
    if error and not spent:
        record["after_completion"] = "retry pending"
        return record
    _DONE.add(_key(schedule))
    if (schedule.action_after_completion or "NONE") == "DELETE":
        scheduler_backends[account][region].delete_schedule(schedule.group_name, schedule.name)
        record["after_completion"] = "deleted" + (" (retries spent)" if error else "")
    else:
        record["after_completion"] = "kept" + (" (retries spent)" if error else "")
    return record


def fire(as_of=None, lab_url=None):
    """Run every enabled one-time schedule due as of `as_of` (default now) once; return the new records."""
    as_of = as_of or utcnow()
    made = []
    with _LOCK:
        for account, region, backend in list(scheduler_backends.iter_backends()):
            for group in list(backend.schedule_groups.values()):
                for schedule in list(group.schedules.values()):
                    due = deadline(schedule)
                    if due is None or due > as_of or schedule.state != "ENABLED" or _key(schedule) in _DONE:
                        continue
                    made.append(invoke(schedule, account, region, as_of, lab_url))
        INVOCATIONS.extend(made)
    return made


# Lab endpoints and clock ---------------------------------------------------------------------------------------


def fire_endpoint(request):
    if request.method != "POST":
        return {"error": "use POST"}, 405
    try:
        body = json.loads(request.get_data() or b"{}")
        as_of = parse_time(body["as_of"]) if body.get("as_of") else None
    except (ValueError, TypeError, AttributeError) as e:
        return {"error": f'send {{"as_of": "<ISO 8601 time>"}} or nothing: {e}'}, 400
    made = fire(as_of, request.host_url.rstrip("/"))
    return {"as_of": (as_of or utcnow()).strftime("%Y-%m-%dT%H:%M:%SZ"), "invocations": made}, 200


def invocations_endpoint(request):
    if request.method != "GET":
        return {"error": "use GET"}, 405
    with _LOCK:
        return {"invocations": list(INVOCATIONS)}, 200


ENDPOINTS = {"/lab/scheduler/fire": fire_endpoint, "/lab/scheduler/invocations": invocations_endpoint}


def clock_seconds(environ=None):
    value = (os.environ if environ is None else environ).get(CLOCK_ENV)
    seconds = float(value) if value not in (None, "") else DEFAULT_CLOCK_SECONDS
    if seconds < 0:
        raise ValueError(f"{CLOCK_ENV} must be 0 (off) or a number of seconds, got {value!r}")
    return seconds


def start_clock(lab_url, seconds):
    """Every `seconds`, ask the lab (over its own endpoint) to run what is due as of now; a daemon thread."""
    if not seconds:
        return None
    stop = threading.Event()

    def tick():
        while not stop.wait(seconds):
            request = urllib.request.Request(f"{lab_url}/lab/scheduler/fire", data=b"{}", method="POST")
            try:
                urllib.request.urlopen(request, timeout=60).read()  # noqa: S310 (the lab's own loopback port)
            except OSError:
                continue

    thread = threading.Thread(target=tick, name="lab-scheduler-clock", daemon=True)
    thread.start()
    return stop


def install(endpoints):
    """Correct moto's scheduler and add the lab endpoints to `endpoints` (lab_throttle.ENDPOINTS); idempotent."""
    for name, func in (
        ("create_schedule_group", create_schedule_group),
        ("delete_schedule_group", delete_schedule_group),
        ("create_schedule", create_schedule),
        ("update_schedule", update_schedule),
        ("list_tags_for_resource", list_tags_for_resource),
    ):
        _ORIGINALS.setdefault(name, getattr(EventBridgeSchedulerBackend, name))
        setattr(EventBridgeSchedulerBackend, name, func)
    from moto.scheduler.responses import EventBridgeSchedulerResponse  # noqa: PLC0415

    _ORIGINALS.setdefault("update_schedule_response", EventBridgeSchedulerResponse.update_schedule)
    EventBridgeSchedulerResponse.update_schedule = _update_schedule_response
    endpoints.update(ENDPOINTS)
