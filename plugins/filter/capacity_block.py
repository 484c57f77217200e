# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that print capacity block offerings and reservations as readable tables, and a reservation's room."""

from ansible.errors import AnsibleFilterError

from ansible_collections.nixl_efa.cluster.plugins.module_utils.capacity_block import reservation_room
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import block_end_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import block_status_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import offering_table
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import reservation_details
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import reservation_table


def capacity_reservation_room(reservation, wanted, nodes=()):
    """module_utils/capacity_block.reservation_room, its errors as filter errors."""
    try:
        return reservation_room(reservation, wanted, nodes)
    except (TypeError, ValueError) as e:
        raise AnsibleFilterError(f"capacity_reservation_room: {e}") from e


class FilterModule:
    """Capacity block tables."""

    def filters(self):
        return {
            "capacity_block_offering_table": offering_table,
            "capacity_block_status_line": block_status_line,
            "capacity_block_reservation_table": reservation_table,
            "capacity_block_reservation_details": reservation_details,
            "capacity_block_end_line": block_end_line,
            "capacity_reservation_room": capacity_reservation_room,
        }
