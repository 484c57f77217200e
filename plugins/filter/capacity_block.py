# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Filters that print capacity block offerings and reservations as readable tables."""

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import block_status_line
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import offering_table
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import reservation_details
from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.capacity_block_tables import reservation_table


class FilterModule:
    """Capacity block tables."""

    def filters(self):
        return {
            "capacity_block_offering_table": offering_table,
            "capacity_block_status_line": block_status_line,
            "capacity_block_reservation_table": reservation_table,
            "capacity_block_reservation_details": reservation_details,
        }
