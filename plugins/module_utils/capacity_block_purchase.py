# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Parameter Store entries owned by a cluster, and the purchase intent record that keeps two runs
from buying the same capacity block.

PurchaseCapacityBlock takes no ClientToken and EC2's describe calls are eventually consistent, so
the purchase-key tag alone cannot stop two runs started together: both look, neither sees a block,
both buy. The intent record closes that gap. It is a Parameter Store entry created with
Overwrite=false before buying: SSM creates it for exactly one caller and answers
ParameterAlreadyExists to the others. The run that holds it buys and then writes the reservation id
into it; a run that finds it held waits, with backoff, for the block to become visible under the
purchase key, and if it never does, fails saying that a purchase MAY have happened, never buying
a second block. The record is kept after a purchase (the same key always means the same block);
only a purchase that EC2 refused (nothing bought) gives it back.

Every entry written here carries the cluster's tag; an existing entry is overwritten or deleted
only when that tag names the same cluster.
"""

import getpass
import json
import os
import socket
import time

try:
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.errors import AWSErrorHandler
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import ansible_dict_to_boto3_tag_list
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_list_to_ansible_dict

from ansible_collections.nixl_efa.cluster.plugins.module_utils import capacity_block as cb
from ansible_collections.nixl_efa.cluster.plugins.module_utils import ec2_api
from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import ownership_problem

PARAMETER_KIND = "Parameter Store entry"


class ParameterError(AnsibleAWSError):
    """A Parameter Store call failed."""


class ParameterErrorHandler(AWSErrorHandler):
    _CUSTOM_EXCEPTION = ParameterError

    @classmethod
    def _is_missing(cls):
        return is_boto3_error_code(["ParameterNotFound", "InvalidResourceId"])


class NotOwned(cb.CapacityBlockError):
    """An existing Parameter Store entry that is not the cluster's: it is left alone."""


class MayHaveBought(cb.CapacityBlockError):
    """A purchase under the key may have happened and its block cannot be seen: nothing more is bought."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details


# Parameter Store calls ---------------------------------------------------------------


@ParameterErrorHandler.list_error_handler("read parameter", None)
@AWSRetry.jittered_backoff()
def get_parameter(ssm, name):
    """The parameter (Name, Value, Version...) or None."""
    return ssm.get_parameter(Name=name)["Parameter"]


@ParameterErrorHandler.list_error_handler("read the parameter's tags", None)
@AWSRetry.jittered_backoff()
def parameter_tags(ssm, name):
    """The parameter's tags as a dict, None when it does not exist."""
    return boto3_tag_list_to_ansible_dict(
        ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name).get("TagList") or []
    )


@ParameterErrorHandler.common_error_handler("create parameter")
@AWSRetry.jittered_backoff()
def create_parameter(ssm, name, value, description, tags):
    """Creates the parameter (Overwrite=false): True, or False when it already exists (someone else's write)."""
    try:
        ssm.put_parameter(
            Name=name,
            Value=value,
            Type="String",
            Description=description,
            Overwrite=False,
            Tags=ansible_dict_to_boto3_tag_list(tags),
        )
    except is_boto3_error_code("ParameterAlreadyExists"):
        return False
    return True


@ParameterErrorHandler.common_error_handler("overwrite parameter")
@AWSRetry.jittered_backoff()
def overwrite_parameter(ssm, name, value, description):
    # Tags cannot be sent with Overwrite=true; the entry keeps the tags it was created with.
    ssm.put_parameter(Name=name, Value=value, Type="String", Description=description, Overwrite=True)
    return True


@ParameterErrorHandler.deletion_error_handler("delete parameter")
@AWSRetry.jittered_backoff()
def delete_parameter(ssm, name):
    ssm.delete_parameter(Name=name)
    return True


def require_owner(ssm, name, cluster, tag_key=cb.CLUSTER_TAG):
    """Raises NotOwned unless the existing entry `name` is tagged tag_key=cluster."""
    tags = parameter_tags(ssm, name) or {}
    problem = ownership_problem(PARAMETER_KIND, tags, tag_key, cluster, name=name)
    if problem:
        raise NotOwned(
            f"{problem} Nothing was changed: it is overwritten or deleted only when its {tag_key} tag names "
            f"this cluster. Look at it with: aws ssm get-parameter --name {name}; aws ssm list-tags-for-resource "
            f"--resource-type Parameter --resource-id {name}. If it is this cluster's, tag it {tag_key}={cluster}; "
            "otherwise use another parameter path."
        )


def ensure_parameter(ssm, name, value, cluster, tags, description, check_mode=False):
    """Writes value to the cluster's entry `name`; returns (changed, previous value or None).

    A new entry is created without overwrite, tagged; an existing one is overwritten only when its value
    differs and it is the cluster's (NotOwned otherwise). Two runs writing at once: the second sees the
    first's entry and compares with it.
    """
    tags = {**(tags or {}), cb.CLUSTER_TAG: cluster}
    for _attempt in range(2):
        current = get_parameter(ssm, name)
        if current is None:
            if check_mode:
                return True, None
            if create_parameter(ssm, name, value, description, tags):
                return True, None
            continue  # created meanwhile by another run: compare with it
        if current.get("Value") == value:
            return False, value
        require_owner(ssm, name, cluster)
        if not check_mode:
            overwrite_parameter(ssm, name, value, description)
        return True, current.get("Value")
    raise ParameterError(message=f"Parameter {name} appeared and vanished while it was being written; run again")


def remove_parameter(ssm, name, cluster, check_mode=False):
    """Deletes the cluster's entry `name`; returns (changed, previous value or None). NotOwned if not the cluster's."""
    current = get_parameter(ssm, name)
    if current is None:
        return False, None
    require_owner(ssm, name, cluster)
    if not check_mode:
        delete_parameter(ssm, name)
    return True, current.get("Value")


# The purchase intent ------------------------------------------------------------------


def who():
    """user@host pid N: which run took an intent."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


class PurchaseIntent:
    """The intent record of one purchase key, and the waits that let EC2's describe calls catch up.

    find_by_key(): reservations carrying the purchase key (oldest first); find_by_id(rid): the
    reservation or None. sleep is time.sleep; the waits count the seconds slept, not the clock, so
    they are the same however slow the describe calls are.
    """

    def __init__(self, ssm, parameter, name, tags, find_by_key, find_by_id, timeout, region=None, sleep=None):
        self.ssm = ssm
        self.parameter = parameter
        self.name = name
        self.tags = {**(tags or {}), cb.PURCHASE_KEY_TAG: name}
        self.cluster = (tags or {}).get(cb.CLUSTER_TAG)
        self.find_by_key = find_by_key
        self.find_by_id = find_by_id
        self.timeout = timeout
        self.region = region
        self.sleep = sleep or time.sleep
        self.value = None

    @property
    def description(self):
        return f"nixl_efa.cluster: purchase intent of capacity block purchase key {self.name}"

    def read(self):
        found = get_parameter(self.ssm, self.parameter)
        return None if found is None else cb.parse_intent(found.get("Value"))

    def take(self, offering):
        """True when this run now holds the intent; False when another run (or a crashed one) holds it."""
        self.value = cb.intent_value(self.name, offering, who())
        return create_parameter(self.ssm, self.parameter, self.value, self.description, self.tags)

    def _require_owner(self):
        if self.cluster:
            require_owner(self.ssm, self.parameter, self.cluster)
        else:
            require_owner(self.ssm, self.parameter, self.name, tag_key=cb.PURCHASE_KEY_TAG)

    def record(self, reservation_id):
        """Writes the reservation id into the intent when it is not there yet; returns the record's content."""
        current = get_parameter(self.ssm, self.parameter)
        if current is None:
            return None
        content = cb.parse_intent(current.get("Value"))
        if content.get("reservation_id") == reservation_id:
            return content
        self._require_owner()
        value = cb.intent_with_reservation(current.get("Value"), reservation_id)
        overwrite_parameter(self.ssm, self.parameter, value, self.description)
        return cb.parse_intent(value)

    def release(self):
        """Gives back the intent this run took after EC2 refused the purchase (nothing was bought)."""
        current = get_parameter(self.ssm, self.parameter)
        if current is None or current.get("Value") != self.value:
            return False  # not the record this run wrote: leave it
        self._require_owner()
        return delete_parameter(self.ssm, self.parameter)

    def _find(self, intent):
        reservation_id = (intent or {}).get("reservation_id")
        if reservation_id:
            found = self.find_by_id(reservation_id)
            if found is not None:
                return found
        found = self.find_by_key()
        return found[0] if found else None

    def wait_for_block(self, why, watch_intent=False):
        """The block bought under the key, waiting for EC2's describe calls to show it.

        Returns the reservation, or None when watch_intent and the intent was given back meanwhile
        (the other run bought nothing: this run may take it). Raises MayHaveBought after timeout seconds.
        """
        waited = 0.0
        delays = cb.backoff_delays()
        intent = self.read()
        while True:
            found = self._find(intent)
            if found is not None:
                return found
            if watch_intent and intent is None:
                return None
            if waited >= self.timeout:
                raise MayHaveBought(
                    cb.may_have_bought_message(self.name, self.parameter, intent, self.region, waited, why),
                    intent_parameter=self.parameter,
                    intent=intent,
                    waited_seconds=waited,
                )
            delay = min(next(delays), self.timeout - waited)
            self.sleep(delay)
            waited += delay
            intent = self.read()


# Purchases ----------------------------------------------------------------------------

# EC2 answers these before acting: nothing was bought.
THROTTLING_CODES = ("RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequestsException")


def refused_before_acting(error):
    """True when a failed purchase call certainly bought nothing: a 4xx answer or throttling."""
    if not isinstance(error, botocore.exceptions.ClientError):
        return False  # connection cut, timeout: the request may have been acted on
    code = error.response.get("Error", {}).get("Code")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in THROTTLING_CODES or (status is not None and status < 500)


def dry_run_outcome(error):
    """(allowed, message) for the error a DryRun call answers with."""
    code = error.response.get("Error", {}).get("Code") if isinstance(error, botocore.exceptions.ClientError) else None
    if code == "DryRunOperation":
        return True, "EC2 answered DryRunOperation: this identity may make the purchase"
    if code == "UnauthorizedOperation":
        return False, (
            "EC2 refused the dry run with UnauthorizedOperation: this identity may not buy it (it needs "
            "ec2:PurchaseCapacityBlock and ec2:CreateTags on capacity-reservation; decode the message with "
            "aws sts decode-authorization-message). Nothing was bought"
        )
    return False, f"EC2 refused the dry run ({code or type(error).__name__}: {error}). Nothing was bought"


def describe_intent(intent):
    return json.dumps(intent, sort_keys=True) if intent else "(none)"


# --- the capacity_block module's purchase steps, over its module and EC2 client --------------------


def find_existing(module, client):
    found = ec2_api.find_capacity_reservations_by_key(client, module.params["name"])
    if len(found) > 1:
        module.warn(
            f"{len(found)} reservations carry purchase key {module.params['name']!r}; returning the oldest, "
            f"{found[0].get('CapacityReservationId')}"
        )
    return found[0] if found else None


def choose_offering(module, client):
    params = module.params
    request = cb.build_offering_request(params)
    offerings = ec2_api.search_offerings(client, request, params["availability_zone"], params["sort"])
    search = cb.search_summary(request)
    if params["offering_id"]:
        offering = cb.find_offering(offerings, params["offering_id"])
        if offering is None:
            module.fail_json(
                msg=f"Offering {params['offering_id']} is not among the current offerings for this search "
                "(offerings change often); search again and pass a current id. Nothing was bought",
                search=search,
                offerings=offerings,
            )
    else:
        offering = cb.select_offering(offerings, params["select"])
        if offering is None:
            module.fail_json(msg="No capacity block offering matches this search; nothing was bought", search=search)
    return offering


def intent_for(module, client):
    params = module.params

    def find_by_id(reservation_id):
        found = ec2_api.describe_capacity_reservations(client, CapacityReservationIds=[reservation_id])
        return found[0] if found else None

    return PurchaseIntent(
        module.client("ssm", retry_decorator=AWSRetry.jittered_backoff()),
        params["intent_parameter"],
        params["name"],
        params["tags"],
        lambda: ec2_api.find_capacity_reservations_by_key(client, params["name"]),
        find_by_id,
        params["consistency_timeout"],
        region=module.region,
    )


def record(module, intent, reservation_id):
    """After the block is known: the reservation id into the intent and the reservation-id parameter."""
    params = module.params
    content = None
    try:
        content = intent.record(reservation_id)
        if params["reservation_id_parameter"]:
            cluster = params["tags"][cb.CLUSTER_TAG]
            ensure_parameter(
                intent.ssm,
                params["reservation_id_parameter"],
                reservation_id,
                cluster,
                params["tags"],
                f"nixl_efa.cluster: reservation-id of cluster {cluster}",
            )
    except (AnsibleAWSError, cb.CapacityBlockError) as e:
        module.warn(
            f"Capacity block {reservation_id} is bought but could not be recorded in Parameter Store ({e}); "
            f"it is still found by its purchase key {params['name']!r}"
        )
    return {"parameter": intent.parameter, "content": content}
