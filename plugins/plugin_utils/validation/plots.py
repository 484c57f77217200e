# -*- coding: utf-8 -*-

# Copyright: Contributors to the nixl_efa.cluster project
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The validation report's plots: what to draw of each check's figures, and the PNGs (matplotlib, on the controller).

plot_specs(report) says, without matplotlib, which plots the report's figures make and which it cannot make
and why: fi_pingpong's bandwidth and latency by message size (one line per pair of the ring), NIXL's GB/s per
transfer (one line per pair), NIXL against its yardsticks (a plain TCP copy between the same nodes, NIXL
through UCX shared memory and a memory copy on the initiator's node) and NCCL's bus bandwidth by message size.
A check that did not run, or ran without figures, gets no plot but its reason; the NCCL plot is drawn from
NCCL's own results only (never from gloo on CPUs).

render_png(spec) draws one plot with matplotlib's Agg canvas (no display, no pyplot state): a fixed size and
resolution (PLOT_WIDTH x PLOT_HEIGHT pixels), matplotlib's default style whatever the user's matplotlibrc
says, and no software or time stamp in the PNG's metadata, so the same figures give the same bytes.
draw_plots(report) draws them all, and says why none were drawn when matplotlib cannot be imported.
"""

import io
import math

from ansible_collections.nixl_efa.cluster.plugins.plugin_utils.validation.common import as_dict

PLOT_SIZE_INCHES = (8.0, 4.5)
PLOT_DPI = 100
PLOT_WIDTH = int(PLOT_SIZE_INCHES[0] * PLOT_DPI)
PLOT_HEIGHT = int(PLOT_SIZE_INCHES[1] * PLOT_DPI)

# Every plot the report can have, in the order the report shows them: id -> (check id, title).
PLOTS = {
    "pingpong_bandwidth": ("fabric.pingpong", "fi_pingpong bandwidth by message size"),
    "pingpong_latency": ("fabric.pingpong", "fi_pingpong latency by message size"),
    "nixl_transfers": ("nixl.transfer", "NIXL throughput of each transfer"),
    "nixl_yardsticks": ("nixl.transfer", "NIXL against a plain copy of the same buffer"),
    "nccl_busbw": ("nccl.all_reduce", "NCCL all_reduce bus bandwidth by message size"),
}
# Lines and bars beyond ten pairs share colours: the legend names every pair, so the plot stays readable up to
# about that many; the report's tables list them all.
_LEGEND_MAX = 12


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


def _checks(report):
    """The report's checks between nodes (node null), by id."""
    return {c["id"]: c for c in as_dict(report).get("checks") or [] if c.get("node") is None}


def _not_run(check):
    """Why a check has nothing to draw, from its own status and reason; None when it has figures to look at."""
    if check is None:
        return "the check is not in this report"
    if check["status"] == "skipped":
        reason = str(check.get("reason") or "not run")
        return reason if reason.lower().startswith("skipped") else f"skipped: {reason}"
    return None


def _pair_label(row):
    return row["pair"] + ("" if row.get("status") == "passed" else f" ({row.get('status')})")


# --- fi_pingpong ---------------------------------------------------------------------------


def _pingpong_rows(check):
    """(label, sizes) per pair: each pair's table, or the slowest pair's alone in a report without them."""
    details = as_dict(check.get("details"))
    found = [(_pair_label(r), r["sizes"]) for r in details.get("pairs") or [] if r.get("sizes")]
    if not found and details.get("sizes"):
        label = f"{as_dict(details.get('client')).get('node')} -> {as_dict(details.get('server')).get('node')}"
        found = [(label, details["sizes"])]
    return found


def _pingpong_specs(check):
    rows = _pingpong_rows(check)
    if not rows:
        reason = f"no fi_pingpong table to draw ({check['status']}: {check.get('reason')})"
        return [], [("pingpong_bandwidth", reason), ("pingpong_latency", reason)]
    provider = as_dict(check.get("details")).get("provider")
    specs = []
    for plot_id, field, unit in (
        ("pingpong_bandwidth", "mb_per_s", "MB/s"),
        ("pingpong_latency", "usec_per_xfer", "usec/xfer"),
    ):
        series = []
        for label, sizes in rows:
            points = sorted((r["bytes"], r[field]) for r in sizes if r.get("bytes", 0) > 0 and _number(r.get(field)))
            if points:
                series.append({"label": label, "x": [p[0] for p in points], "y": [p[1] for p in points]})
        specs.append(
            {
                "id": plot_id,
                "kind": "lines",
                "x_label": "message size (bytes)",
                "y_label": unit + (" (log scale)" if field == "usec_per_xfer" else ""),
                "x_log2": True,
                "y_log": field == "usec_per_xfer",
                "subtitle": f"provider {provider}, {len(series)} pair(s) of the ring",
                "series": series,
            }
        )
    return specs, []


# --- NIXL ----------------------------------------------------------------------------------


def _nixl_transfer_spec(check):
    series = []
    for row in as_dict(check.get("details")).get("pairs") or []:
        transfers = as_dict(row.get("transfers"))
        size = transfers.get("bytes")
        seconds = transfers.get("nixl") or []
        if size and seconds:
            series.append(
                {
                    "label": _pair_label(row),
                    "x": list(range(1, len(seconds) + 1)),
                    "y": [round(size / s / 1e9, 4) for s in seconds],
                }
            )
    if not series:
        return None, "no per-transfer times in the NIXL answers"
    details = as_dict(check.get("details"))
    figures = as_dict(check.get("figures"))
    return {
        "id": "nixl_transfers",
        "kind": "lines",
        "x_label": "transfer (the first is the cold one)",
        "y_label": "GB/s",
        "x_integer": True,
        "subtitle": f"{details.get('backend')} WRITE of {figures.get('size_mib')} MiB, "
        f"{len(series)} pair(s) of the ring",
        "series": series,
    }, None


# The yardsticks' bars, per pair: (label, the pair row's figure).
_YARDSTICK_BARS = (
    ("NIXL {backend}", "gbps"),
    ("plain TCP copy", "tcp_gbps"),
    ("NIXL via UCX shared memory", "shm_gbps"),
    ("memory copy", "memcpy"),
)


def _yardstick_values(figures, key):
    if key == "memcpy":
        # The copy the shared-memory transfer is judged against: timed in turn with it, else the earlier one.
        return _number(figures.get("shm_memcpy_gbps")) or _number(figures.get("memcpy_gbps"))
    return _number(figures.get(key))


def _yardsticks_line(details):
    """The yardsticks' verdicts in one line: the lowest share of each and its floor."""
    parts = []
    for y in details.get("yardsticks") or []:
        name = {"nixl_vs_tcp": "NIXL / TCP", "shm_vs_memcpy": "shm / memcpy"}.get(y["id"], y["id"])
        if _number(y.get("value")) is None:
            parts.append(f"{name} {y['status']}")
            continue
        floor = f", floor {y['threshold'] * 100:.0f} %" if _number(y.get("threshold")) is not None else ""
        parts.append(f"{name} {y['value'] * 100:.1f} %{floor}: {y['status']}")
    return "; ".join(parts)


def _nixl_yardstick_spec(check):
    details = as_dict(check.get("details"))
    backend = details.get("backend") or "NIXL"
    rows = [r for r in details.get("pairs") or [] if _number(as_dict(r.get("figures")).get("gbps"))]
    bars = []
    for label, key in _YARDSTICK_BARS:
        values = [_yardstick_values(as_dict(r.get("figures")), key) for r in rows]
        if any(v is not None for v in values):
            bars.append({"label": label.format(backend=backend), "values": values})
    if not rows or len(bars) < 2:
        why = "; ".join(f"{y['id']}: {y['reason']}" for y in details.get("yardsticks") or [])
        return None, "no yardstick figure beside NIXL's" + (f" ({why})" if why else "")
    return {
        "id": "nixl_yardsticks",
        "kind": "bars",
        "x_label": "pair of the ring",
        "y_label": "GB/s (warm transfers)",
        "subtitle": _yardsticks_line(details) or f"{backend}, warm transfers",
        "groups": [_pair_label(r) for r in rows],
        "series": bars,
    }, None


def _nixl_specs(check):
    specs, skipped = [], []
    for build in (_nixl_transfer_spec, _nixl_yardstick_spec):
        spec, reason = build(check)
        if spec:
            specs.append(spec)
        else:
            plot_id = "nixl_transfers" if build is _nixl_transfer_spec else "nixl_yardsticks"
            skipped.append((plot_id, f"{reason} ({check['status']}: {check.get('reason')})"))
    return specs, skipped


# --- NCCL ----------------------------------------------------------------------------------


def _nccl_specs(check):
    result = as_dict(as_dict(check.get("details")).get("result"))
    if check["status"] != "passed":
        return [], [("nccl_busbw", f"the check failed: {check.get('reason')}")]
    if result.get("backend", "nccl") != "nccl":
        return [], [
            ("nccl_busbw", f"the all_reduce ran on {result.get('backend')} (CPUs), not NCCL: nothing of NCCL to draw")
        ]
    rows = [r for r in result.get("sizes") or [] if _number(r.get("busbw_gbps")) is not None and r.get("size_bytes")]
    if not rows and _number(result.get("busbw_gbps")) is not None and result.get("size_bytes"):
        # An answer without the sweep: its one size.
        rows = [result]
    if not rows:
        return [], [("nccl_busbw", "the NCCL answer has no bus bandwidth")]
    rows = sorted(rows, key=lambda r: r["size_bytes"])
    series = [{"label": "bus bandwidth", "x": [r["size_bytes"] for r in rows], "y": [r["busbw_gbps"] for r in rows]}]
    algbw = [r for r in rows if _number(r.get("algbw_gbps")) is not None]
    if algbw:
        series.append(
            {
                "label": "algorithm bandwidth",
                "x": [r["size_bytes"] for r in algbw],
                "y": [r["algbw_gbps"] for r in algbw],
                "dashed": True,
            }
        )
    return [
        {
            "id": "nccl_busbw",
            "kind": "lines",
            "x_label": "message size (bytes)",
            "y_label": "GB/s",
            "x_log2": True,
            "subtitle": f"{result.get('world_size')} ranks, NCCL {result.get('nccl') or '?'}",
            "series": series,
        }
    ], []


# --- the report's plots --------------------------------------------------------------------


def plot_specs(report):
    """What the report's figures make: {plots: [spec], not_drawn: [{id, title, check, reason}]}, in PLOTS' order.

    A spec: id, title, check, kind (lines: series of {label, x, y, dashed}; bars: groups and series of
    {label, values}), x_label, y_label, x_log2/x_integer/y_log and subtitle. Every plot of PLOTS is in one of
    the two lists.
    """
    checks = _checks(report)
    specs, skipped = {}, {}
    for check_id, build in (
        ("fabric.pingpong", _pingpong_specs),
        ("nixl.transfer", _nixl_specs),
        ("nccl.all_reduce", _nccl_specs),
    ):
        check = checks.get(check_id)
        reason = _not_run(check)
        ids = [plot_id for plot_id, (owner, _title) in PLOTS.items() if owner == check_id]
        if reason:
            skipped.update(dict.fromkeys(ids, reason))
            continue
        made, missed = build(check)
        specs.update({s["id"]: s for s in made})
        skipped.update(dict(missed))
    plots = [dict(specs[i], title=PLOTS[i][1], check=PLOTS[i][0]) for i in PLOTS if i in specs]
    left = [{"id": i, "title": PLOTS[i][1], "check": PLOTS[i][0], "reason": skipped[i]} for i in PLOTS if i in skipped]
    return {"plots": plots, "not_drawn": left}


def _matplotlib():
    """(matplotlib, Figure, FigureCanvasAgg), imported on first use: the controller may lack it."""
    import matplotlib  # noqa: PLC0415 (optional: the plots are skipped without it)
    import matplotlib.style  # noqa: PLC0415
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    return matplotlib, Figure, FigureCanvasAgg


def _bytes_label(value, _position=None):
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:g} {unit}"
    return f"{value:g} B"


def _draw_lines(axes, spec, ticker):
    many = len(spec["series"]) > _LEGEND_MAX
    for series in spec["series"]:
        axes.plot(
            series["x"],
            series["y"],
            marker="o",
            markersize=3 if many else 4,
            linewidth=1.2,
            linestyle="--" if series.get("dashed") else "-",
            label=series["label"],
        )
    if spec.get("x_log2"):
        axes.set_xscale("log", base=2)
        axes.xaxis.set_major_formatter(ticker.FuncFormatter(_bytes_label))
    if spec.get("x_integer"):
        axes.xaxis.set_major_locator(ticker.MaxNLocator(integer=True))


def _draw_bars(axes, spec):
    groups, series = spec["groups"], spec["series"]
    width = 0.8 / len(series)
    for index, kind in enumerate(series):
        positions = [g + (index - (len(series) - 1) / 2) * width for g in range(len(groups))]
        present = [(p, v) for p, v in zip(positions, kind["values"]) if v is not None and v > 0]
        if not present:
            continue
        places, values = [p for p, v in present], [v for p, v in present]
        drawn = axes.bar(places, values, width=width, label=kind["label"])
        axes.bar_label(drawn, labels=[f"{v:.3g}" for v in values], fontsize=7, padding=1)
    # Room above the tallest bar for the legend.
    tallest = max((v for kind in series for v in kind["values"] if v is not None), default=0)
    if tallest > 0:
        axes.set_ylim(top=tallest * 1.3)
    axes.set_xticks(list(range(len(groups))))
    axes.set_xticklabels(groups, fontsize=8, rotation=15 if len(groups) > 3 else 0)


def render_png(spec):
    """One plot as PNG bytes: PLOT_WIDTH x PLOT_HEIGHT pixels, the same bytes for the same spec."""
    matplotlib, figure_class, canvas_class = _matplotlib()
    from matplotlib import ticker  # noqa: PLC0415

    with matplotlib.style.context("default"), matplotlib.rc_context({"font.size": 9, "axes.titlesize": 11}):
        figure = figure_class(figsize=PLOT_SIZE_INCHES, dpi=PLOT_DPI)
        canvas = canvas_class(figure)
        axes = figure.add_subplot()
        if spec["kind"] == "bars":
            _draw_bars(axes, spec)
        else:
            _draw_lines(axes, spec, ticker)
        if spec.get("y_log"):
            axes.set_yscale("log")
        else:
            axes.set_ylim(bottom=0)
        columns = 2 if spec["kind"] == "bars" or len(spec["series"]) > 6 else 1
        axes.set_title(spec["title"] + (f"\n{spec['subtitle']}" if spec.get("subtitle") else ""), fontsize=10)
        axes.set_xlabel(spec["x_label"])
        axes.set_ylabel(spec["y_label"])
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(fontsize=7, ncols=columns, loc="upper left" if spec["kind"] == "bars" else "best")
        figure.tight_layout()
        out = io.BytesIO()
        # No "Software" (matplotlib's version) and no time: PNG metadata matplotlib writes otherwise.
        canvas.print_png(out, metadata={"Software": None})
    return out.getvalue()


def draw_plots(report):
    """{plots: [spec + png bytes], not_drawn: [...], matplotlib: version, unavailable: reason}.

    Without matplotlib nothing is drawn: unavailable says why, and every plot that had figures joins not_drawn
    with that reason.
    """
    found = plot_specs(report)
    try:
        matplotlib = _matplotlib()[0]
    except ImportError as e:
        reason = f"matplotlib cannot be imported on the controller ({e}): install requirements.txt's matplotlib"
        skipped = [{"id": s["id"], "title": s["title"], "check": s["check"], "reason": reason} for s in found["plots"]]
        order = list(PLOTS)
        skipped = sorted(skipped + found["not_drawn"], key=lambda s: order.index(s["id"]))
        return {"plots": [], "not_drawn": skipped, "matplotlib": None, "unavailable": reason}
    plots = [dict(spec, png=render_png(spec)) for spec in found["plots"]]
    return {"plots": plots, "not_drawn": found["not_drawn"], "matplotlib": matplotlib.__version__, "unavailable": None}
