# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Capacity blocks as aligned text for the controller: offerings, reservations and one block's status.

Controller only (the capacity_block filters' logic); the records are those module_utils/capacity_block
summarizes for the modules.
"""

import datetime

from ansible_collections.nixl_efa.cluster.plugins.module_utils.ownership import CLUSTER_TAG


def _short_date(value):
    """'2026-12-01T11:30:00+00:00' -> '2026-12-01 11:30' (dates are UTC already)."""
    text = str(value or "")
    return text[:16].replace("T", " ") if len(text) >= 16 else text


def _money(value, currency):
    if value is None:
        return "-"
    return f"{float(value):,.2f} {currency or ''}".rstrip()


def offering_table(offerings):
    """Offerings (as summarize_offering returns them) as aligned text lines, header first."""
    lines = [
        f"{'offering':<20} {'zone':<12} {'start (UTC)':<16} {'end (UTC)':<16} {'hours':>5} "
        f"{'count':>5} {'upfront fee':>16} {'per inst-hour':>13}"
    ]
    for o in offerings:
        per_hour = o.get("price_per_instance_hour")
        lines.append(
            f"{o['capacity_block_offering_id']:<20} {o.get('availability_zone') or '-':<12} "
            f"{_short_date(o.get('start_date')):<16} {_short_date(o.get('end_date')):<16} "
            f"{o.get('duration_hours') or 0:>5} {o.get('instance_count') or 0:>5} "
            f"{_money(o.get('upfront_fee'), o.get('currency_code')):>16} "
            f"{'-' if per_hour is None else f'{per_hour:,.4f}':>13}"
        )
    return lines


def reservation_table(reservations):
    """Reservations (as summarize_reservation returns them) as aligned text lines, header first.

    The last column is the cluster whose tag the reservation carries, "-" for a block bought outside
    this collection (the console, the CLI, the old scripts).
    """
    lines = [
        f"{'reservation':<21} {'state':<15} {'zone':<12} {'type':<14} {'avail/total':>11} "
        f"{'start (UTC)':<16} {'end (UTC)':<16} {'upfront fee':>16} {'purchase key':<20} cluster"
    ]
    for r in reservations:
        counts = f"{r.get('available_instance_count') or 0}/{r.get('total_instance_count') or 0}"
        lines.append(
            f"{r['capacity_reservation_id']:<21} {r.get('state') or '-':<15} {r.get('availability_zone') or '-':<12} "
            f"{r.get('instance_type') or '-':<14} {counts:>11} {_short_date(r.get('start_date')):<16} "
            f"{_short_date(r.get('end_date')):<16} {_money(r.get('upfront_fee'), r.get('currency_code')):>16} "
            f"{r.get('purchase_key') or '-':<20} {(r.get('tags') or {}).get(CLUSTER_TAG) or '-'}"
        )
    return lines


def block_status_line(block):
    """One capacity block (as capacity_block_info returns it) as a line of text."""
    return (
        f"block {block.get('capacity_block_id')}: {block.get('state') or '-'}, interconnect "
        f"{block.get('interconnect_status') or 'unknown'}, capacity available "
        f"{block.get('total_available_capacity', '-')} of {block.get('total_capacity', '-')}, "
        f"reservations {', '.join(block.get('capacity_reservation_ids') or []) or '-'}"
    )


def _when(value):
    """An ISO 8601 date (as the modules return them) as an aware datetime; None when there is none."""
    if not value:
        return None
    parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)


def _span(delta):
    """A positive timedelta as '2d 3h 15m' (minutes rounded down)."""
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return " ".join(
        part for part in (f"{days}d" if days else "", f"{hours}h" if days or hours else "", f"{minutes}m") if part
    )


def time_left(reservation, now, with_date=True):
    """What a reservation's dates mean at `now`: 'starts in ...', 'ends in ...' or 'ended ... ago'.

    with_date: followed by the date meant, '(at 2026-12-08 11:30 UTC)'.
    """
    start, end = _when(reservation.get("start_date")), _when(reservation.get("end_date"))
    if start and now < start:
        phrase, date = f"starts in {_span(start - now)}", reservation.get("start_date")
    elif end and now < end:
        phrase, date = f"ends in {_span(end - now)}", reservation.get("end_date")
    elif end:
        phrase, date = f"ended {_span(now - end)} ago", reservation.get("end_date")
    else:
        return "no end date"
    return f"{phrase} (at {_short_date(date)} UTC)" if with_date else phrase


# What EC2 does at a capacity block's end (EC2 User Guide, "Work with Capacity Blocks" and "Monitor Capacity Blocks
# using EventBridge": https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-blocks-using.html,
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/capacity-blocks-monitor.html): the block cannot be cancelled and
# ends by itself; 30 minutes before its end time EC2 starts terminating the instances still running in it, and
# 40 minutes before, an EventBridge event (Capacity Block Expiration Warning) announces it.
TERMINATION_LEAD_MINUTES = 30
WARNING_LEAD_MINUTES = 40


def block_end_line(reservation, now=None):
    """The provision summary's line for a capacity block's end; "" for any other reservation, or none.

    'Capacity block ends: 2026-12-08T11:30:00Z (ends in 1d 15h 0m; ...)' with what EC2 does then; `now` an aware
    datetime or an ISO 8601 text (the current UTC time when not given).
    """
    reservation = reservation or {}
    if reservation.get("reservation_type") != "capacity-block" or not reservation.get("end_date"):
        return ""
    now = _when(now) if isinstance(now, str) else now or datetime.datetime.now(datetime.timezone.utc)
    end = _when(reservation["end_date"]).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"Capacity block ends: {end} ({time_left(reservation, now, with_date=False)}; it ends on its own: "
        f"EC2 terminates the nodes still running in it from {TERMINATION_LEAD_MINUTES} min before that, "
        f"after an EventBridge warning {WARNING_LEAD_MINUTES} min before)"
    )


def reservation_details(reservation, instances=(), now=None):
    """One reservation as the lines `describe` prints: what the old script showed, the time left, its instances.

    `instances` are the instances running in it (amazon.aws.ec2_instance_info's records); `now` an aware
    datetime (the current UTC time when not given).
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    r = reservation
    tags = r.get("tags") or {}
    running = [i.get("instance_id") for i in instances or ()]
    start, end = _short_date(r.get("start_date")) or "-", _short_date(r.get("end_date")) or "-"
    return [
        f"reservation {reservation.get('capacity_reservation_id')} ({reservation.get('state') or '-'}),"
        f" block {reservation.get('capacity_block_id') or '-'}",
        f"  arn: {reservation.get('capacity_reservation_arn') or '-'}",
        f"  {reservation.get('total_instance_count') or 0} x {reservation.get('instance_type') or '-'}"
        f" in {r.get('availability_zone') or '-'}, {r.get('available_instance_count') or 0} available",
        f"  platform: {reservation.get('instance_platform') or '-'}, tenancy: {reservation.get('tenancy') or '-'},"
        f" match criteria: {reservation.get('instance_match_criteria') or '-'},"
        f" end date type: {reservation.get('end_date_type') or '-'}",
        f"  from {start} to {end} UTC: {time_left(r, now)}",
        f"  upfront fee: {_money(reservation.get('upfront_fee'), reservation.get('currency_code')).strip()},"
        f" purchase key: {reservation.get('purchase_key') or '-'}",
        f"  tags: {', '.join(f'{k}={v}' for k, v in sorted(tags.items())) or '-'}",
        f"  instances running in it: {', '.join(running) if running else 'none'}",
    ]
