# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Search options shared by capacity_block_offering_info and capacity_block.
    DOCUMENTATION = r"""
options:
  instance_type:
    description:
      - The instance type to reserve, for example V(p5.48xlarge).
    type: str
  instance_count:
    description:
      - How many instances the block must hold, 1 to 64.
    type: int
    default: 1
  duration_hours:
    description:
      - Length of the reservation in hours.
      - AWS accepts whole days up to 14 days (V(24), V(48), ... V(336)) and whole
        weeks beyond that, up to 182 days (V(4368)). Other values fail before any API call.
    type: int
  start_date_range:
    description:
      - Earliest start of the block.
      - An ISO date (V(2026-12-01)), an ISO time (V(2026-12-01T09:00:00Z)), V(now), V(today),
        or an offset from now such as V(+2d), V(+12h) or V(+1w). Times without a zone are UTC.
    type: str
  end_date_range:
    description:
      - Latest end of the block, in the same forms as O(start_date_range).
    type: str
  availability_zone:
    description:
      - Keep only offerings in this Availability Zone, for example the zone of an existing subnet.
    type: str
  sort:
    description:
      - Order of the offerings returned, by start date (then fee) or by upfront fee (then start date).
    type: str
    choices: [start, price]
    default: start
"""
