# -*- coding: utf-8 -*-
"""The local AWS of the lab: a moto server plus stand-ins for what moto 5.2 lacks or does differently.

moto 5.2.5 answers most of what this collection calls, but has no placement groups, capacity
reservations or capacity blocks, no SSM DescribeInstanceInformation or sessions, and launches
from a launch template without its network interfaces. The modules beside this one add what
is missing to moto before the server starts. They are STAND-INS, kept here under lab/ and
never shipped: they answer with the shapes of AWS's API (moto serializes them through
botocore's models) and follow the rules this collection relies on, but prices, zones and
dates come from a deterministic catalogue, not from AWS.

What is added (lab_capacity.py, EC2):
- CreatePlacementGroup, DescribePlacementGroups, DeletePlacementGroup;
- DescribeCapacityBlockOfferings: a catalogue for EFA-capable instance types (moto's own
  instance type data decides), three zones, starts at the top of the current UTC hour (day 0,
  offered when the search may start that early; such a block is active once bought) and at
  11:30 UTC on days 1, 3 and 7 after the search start, fees from a per-instance-hour rate with
  a per-zone factor;
- PurchaseCapacityBlock: only an offering this server listed; creates a capacity reservation
  of type capacity-block (tags from TagSpecifications) and its block;
- DescribeCapacityReservations, DescribeCapacityBlocks, DescribeCapacityBlockStatus (ids and
  the filters in lab_capacity.FILTER_FIELDS, tag:<key> and tag-key; an unknown filter name is
  refused, as EC2 does); states follow the clock on every read: scheduled turns active at
  StartDate, expired at EndDate;
- CancelCapacityReservation: a capacity block is refused with the client error UnsupportedOperation
  (AWS: a Capacity Block cannot be cancelled; the code is the lab's choice, see its docstring),
  any other reservation becomes cancelled, an unknown id is InvalidCapacityReservationId.NotFound;
- DescribeCapacityBlockExtensionOfferings (one offering, starting at the block's EndDate, same
  rates), PurchaseCapacityBlockExtension (moves the EndDate of reservation and block) and
  DescribeCapacityBlockExtensionHistory (the extensions bought);
- CreateTags, DeleteTags and DescribeTags for capacity reservations (moto refuses cr- ids): the
  lab's reservations' tags, with EC2's rules (a tag deleted with a value only while it has it),
  every other id handed to moto.
What is changed (lab_instances.py, EC2):
- RunInstances runs the effective request (launch template version data overridden by the
  request): network interfaces with InterfaceType and NetworkCardIndex on every network card,
  in their subnet's VPC and zone with their groups, Placement.GroupName, the instance profile
  on every instance, market type capacity-block and capacity reservation targets, refused with
  AWS's error codes before anything is launched; TerminateInstances gives reserved capacity back.
What is added (lab_ssm.py, SSM):
- DescribeInstanceInformation (running instances with an instance profile AND a way out to
  Systems Manager are managed nodes, decided by lab_reachability.py from the route tables,
  internet and NAT gateways, public addresses, interface endpoints and security groups in
  moto's records; ConnectionLost once the way out is gone; paged as AWS pages),
  StartSession (TargetNotConnected without a way out), TerminateSession;
- the public parameters in PUBLIC_AMI_PARAMETERS, each pointing to an image moto ships.
The throttling switch (lab_throttle.py): a share of calls answered with the service's
throttling error, from LAB_THROTTLE_SHARE and GET/POST /lab/throttle.
The machines (lab_nodes.py, with LAB_NODE_IMAGE set): one Debian 12 systemd container per
instance, started by RunInstances, stopped and started with the instance, removed by
TerminateInstances; SSM reports a node Online once its systemd is up.
Corrections of moto answers that differ from AWS's (lab_fixes.py), among them the default VPC's internet
gateway and default route.
What is added (lab_efs.py, EFS): DescribeTags, CreateTags, DeleteTags, DeleteFileSystemPolicy,
and DescribeFileSystems pages of 100 (AWS's default).
What is added (lab_scheduler.py, EventBridge Scheduler): corrections of moto's scheduler (a duplicate
group is a conflict, a missing group not found, UpdateSchedule sets ActionAfterCompletion), and the
running of due one-time schedules whose universal target is EC2 TerminateInstances, only when the
execution role trusts scheduler.amazonaws.com and its policies allow it on every instance (tag
conditions evaluated), recorded at GET /lab/scheduler/invocations; POST /lab/scheduler/fire runs what
is due as of a given time (lab-only), and a clock runs what is due as of now every
LAB_SCHEDULER_CLOCK seconds (default 30, 0 off).

Run: python lab/moto_lab.py -H 127.0.0.1 -p PORT (the arguments of moto_server).
"""

import os
import pathlib
import sys

# The stand-in modules beside this file, also when this file is imported from elsewhere.
_HERE = str(pathlib.Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import lab_capacity  # noqa: E402
import lab_efs  # noqa: E402
import lab_fixes  # noqa: E402
import lab_instances  # noqa: E402
import lab_nodes  # noqa: E402
import lab_scheduler  # noqa: E402
import lab_ssm  # noqa: E402
import lab_throttle  # noqa: E402
from lab_ssm import PUBLIC_AMI_PARAMETERS  # noqa: E402
from moto.ec2.responses import EC2Response  # noqa: E402

__all__ = ["PUBLIC_AMI_PARAMETERS", "install", "main"]


def install(environ=None):
    """Add the stand-ins to moto (idempotent)."""
    for func in lab_capacity.STAND_INS:
        setattr(EC2Response, func.__name__, func)
    lab_capacity.install_tags(EC2Response)
    lab_instances.install(EC2Response)
    lab_nodes.install(EC2Response)
    lab_fixes.install(EC2Response)
    lab_efs.install()
    lab_ssm.install()
    lab_scheduler.install(lab_throttle.ENDPOINTS)
    lab_throttle.install(os.environ if environ is None else environ)


def own_url(argv):
    """The lab's URL from moto_server's arguments (-H/--host, -p/--port; moto's defaults 127.0.0.1:5000)."""
    host, port = "127.0.0.1", "5000"
    for i, arg in enumerate(argv[:-1]):
        if arg in ("-H", "--host"):
            host = argv[i + 1]
        elif arg in ("-p", "--port"):
            port = argv[i + 1]
    return f"http://{host}:{port}"


def main(argv=None):
    argv = argv if argv is not None else sys.argv[1:]
    try:
        install()
    except ValueError as e:
        sys.exit(f"LAB_THROTTLE_SHARE: {e}")
    try:
        clock = lab_scheduler.clock_seconds()
    except ValueError as e:
        sys.exit(str(e))
    from moto import server  # noqa: PLC0415 (after the stand-ins are in place)

    dispatcher = server.DomainDispatcherApplication
    server.DomainDispatcherApplication = lambda create_app: lab_throttle.LabApp(dispatcher(create_app))
    lab_scheduler.start_clock(own_url(argv), clock)
    server.main(argv)


if __name__ == "__main__":
    main()
