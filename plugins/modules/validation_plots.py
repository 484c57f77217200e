#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: validation_plots
version_added: 0.3.0
short_description: Draw a validation report's figures as PNG plots on the controller
description:
  - Draws the plots of a report of the C(validation) role with matplotlib, on the controller, and writes
    them as C(<prefix>-<plot id>.png) into O(dest), beside the report's Markdown, which links to them by
    those names.
  - The plots - fi_pingpong's bandwidth and latency by message size (V(pingpong_bandwidth),
    V(pingpong_latency); one line per pair of the ring), NIXL's throughput of each transfer
    (V(nixl_transfers)), NIXL against its yardsticks of the same buffer, a plain TCP copy between the same
    nodes, NIXL through UCX shared memory and a memory copy on the initiator's node (V(nixl_yardsticks)),
    and NCCL's all_reduce bus bandwidth by message size (V(nccl_busbw)).
  - A plot is drawn only from figures a check measured. A check that was skipped or failed before any
    figure gets no plot but its reason in RV(not_drawn); the NCCL plot comes from NCCL's own results only,
    never from a gloo run on CPUs.
  - Each PNG is 800 x 450 pixels, drawn with matplotlib's Agg canvas in its
    default style and without a software name or time in its metadata, so the same report gives the same
    bytes with the same matplotlib.
  - Without matplotlib on the controller nothing is drawn and nothing fails - RV(unavailable) says why
    and every plot is in RV(not_drawn) with that reason.
  - An action that runs on the controller only; it opens no connection to the host.
author:
  - nixl_efa.cluster maintainers (@nixl-efa)
options:
  report:
    description: A report of P(nixl_efa.cluster.validation_report#filter).
    type: dict
    required: true
  dest:
    description: Directory on the controller for the PNGs (created, mode C(0755), when missing).
    type: path
    required: true
  prefix:
    description: The start of each PNG's file name, C(<prefix>-<plot id>.png) - the report's own file stem.
    type: str
    required: true
  artifact_dir:
    description: Folder of the plots in RV(artifacts), the MLflow run's artifact paths.
    type: str
    default: plots
seealso:
  - module: nixl_efa.cluster.node_jobs
extends_documentation_fragment:
  - nixl_efa.cluster.attributes
attributes:
  check_mode:
    support: full
    details: Draws the plots but writes no file; the task's C(changed) says whether it would.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Draw the report's plots beside its Markdown
  nixl_efa.cluster.validation_plots:
    report: "{{ validation_report }}"
    dest: "{{ validation_report_dir }}"
    prefix: nixl-efa-20261206T131425Z
  delegate_to: localhost
  run_once: true
  register: plots

- name: Name what was drawn and what was not
  ansible.builtin.debug:
    msg: >-
      {{ plots.plots | map(attribute='file') | list }};
      not drawn: {{ plots.not_drawn | map(attribute='reason') | list }}
"""

RETURN = r"""
plots:
  description: The PNGs written (or, in check mode, drawn), in the report's order.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The plot's name.
      type: str
      sample: pingpong_bandwidth
    title:
      description: The plot's title.
      type: str
      sample: fi_pingpong bandwidth by message size
    check:
      description: The report's check whose figures it draws.
      type: str
      sample: fabric.pingpong
    file:
      description: The PNG's file name in O(dest).
      type: str
      sample: nixl-efa-20261206T131425Z-pingpong_bandwidth.png
    path:
      description: The PNG's path on the controller.
      type: str
      sample: /home/user/reports/nixl-efa-20261206T131425Z-pingpong_bandwidth.png
    artifact:
      description: Its path among the MLflow run's artifacts.
      type: str
      sample: plots/pingpong_bandwidth.png
    bytes:
      description: The PNG's size.
      type: int
      sample: 38585
    sha256:
      description: The PNG's SHA-256.
      type: str
    width:
      description: Width in pixels.
      type: int
      sample: 800
    height:
      description: Height in pixels.
      type: int
      sample: 450
not_drawn:
  description: The plots not drawn, each with the reason (the check's own skip reason, or why its figures are missing).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The plot's name.
      type: str
      sample: nccl_busbw
    title:
      description: The plot's title.
      type: str
    check:
      description: The check it would draw.
      type: str
      sample: nccl.all_reduce
    reason:
      description: Why it was not drawn.
      type: str
      sample: "skipped: no GPU on i-0123456789abcdef0"
artifacts:
  description:
    - Each PNG's content, base64-encoded, by its artifact path - what the validation role uploads into the MLflow run.
  returned: always
  type: dict
  sample: {"plots/pingpong_bandwidth.png": "iVBORw0KGgo..."}
matplotlib:
  description: The matplotlib version that drew them; null when it could not be imported.
  returned: always
  type: str
  sample: 3.11.2
unavailable:
  description: Why nothing could be drawn (matplotlib missing); null when the plots were drawn.
  returned: always
  type: str
"""
