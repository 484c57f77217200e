# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Capacity blocks as aligned text for the controller: offerings, reservations and one block's status.

Controller only (the capacity_block filters' logic); the records are those module_utils/capacity_block
summarizes for the modules.
"""

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
