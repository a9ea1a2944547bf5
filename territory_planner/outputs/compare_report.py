"""The comparison of plans as one offline HTML page, and as a folder of files (issue 26).

:func:`render_report` turns a :class:`~territory_planner.outputs.compare.Comparison` and
its plans into one self-contained page, in the order a review reads it (FIELD.md §5b):

* the plans compared (scenario, settings, status) and the KPI table with each plan's
  change against plan A, coloured better / worse, and the comparison's notes below it
  (objectives that measure different things, what "today" is);
* charts drawn with matplotlib (Agg canvas, written as inline SVG): each plan's
  potential deviation per territory with its balance band, and the trade-off of all plans
  between disruption (share of accounts moved) and the objective (the mean distance
  where the plans' objectives measure different things), with optional points of a
  sweep or frontier behind them;
* the plans' maps side by side, views synchronised (pan or zoom one, the others follow),
  accounts that move against plan A ringed, and each territory in one colour on every map
  (:func:`_map_colors`);
* each rep's change and the list of moved accounts (the largest first, truncated with a
  note; moves.csv lists every one).

Offline and safe: nothing is loaded from the network (the maps are ``plan_map`` pages,
Leaflet inlined, embedded with ``<iframe srcdoc>``; the charts are inline SVG); every user
string (names, ids, labels, scenario names) is HTML-escaped, and the map pages run
sandboxed (scripts only, no access to this page). :func:`write_comparison` writes
comparison.csv, moves.csv, reps.csv and report.html as one folder, atomically.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from territory_planner.outputs.compare import (
    Comparison,
    delta_tone,
    format_delta,
    format_value,
    id_text,
    plan_figures,
)
from territory_planner.outputs.files import csv_text, write_folder
from territory_planner.plan import Plan

__all__ = ["COMPARISON_FILES", "render_report", "write_comparison"]

#: The files of a comparison folder, in the order they are written.
COMPARISON_FILES = ("comparison.csv", "moves.csv", "reps.csv", "report.html")
#: Plan colours in the charts (Tableau 10, as the maps' palette starts).
_PLAN_COLORS = ("#4E79A7", "#F28E2B", "#E15759", "#59A14F", "#B07AA1", "#EDC948", "#76B7B2", "#FF9DA7",
                "#9C755F", "#BAB0AC")


def _e(value) -> str:
    """User text as HTML text ('' when missing)."""
    text = id_text(value)
    return "" if text is None else html.escape(text, quote=True)


# --------------------------------------------------------------------------- public API


def render_report(
    comparison: Comparison,
    plans: list[Plan],
    labels: list[str],
    *,
    title: str | None = None,
    tradeoff=None,
    max_moves: int = 300,
) -> str:
    """The comparison as one self-contained HTML page that works offline.

    Parameters
    ----------
    comparison : ``compare_plans(plans, labels)``.
    plans, labels : the plans compared and their labels, in the same order.
    title : the page heading; default "Plan comparison: A vs B, C".
    tradeoff : optional points of a sweep or frontier for the trade-off chart: a DataFrame
        or an iterable of mappings with ``accounts_moved_share`` (x, 0–1) and
        ``objective`` or ``mean_distance_km`` (y), optionally ``label`` (or ``name``):
        a frontier's or sweep's table (``runs/frontier.py``'s frontier.csv) as it is. The
        plans are drawn on the same axes.
    max_moves : moved accounts listed per plan (the largest potential first), and rep
        changes per plan; the rest are counted in a note (the CSV files list all).
    """
    labels = list(labels)
    if tuple(labels) != tuple(comparison.labels) or len(plans) != len(labels):
        raise ValueError(f"the report needs the plans and labels of the comparison ({list(comparison.labels)}); "
                         f"got {len(plans)} plans labelled {labels}")
    heading = title if title is not None else f"Plan comparison: {labels[0]} vs {', '.join(labels[1:])}"
    sections = [
        f"<header><h1>{html.escape(heading)}</h1><p class='note'>Plan A, the reference of every change, is "
        f"<b>{html.escape(labels[0])}</b>. Written by territory_planner; everything on this page is inline "
        "and works offline.</p></header>",
        _plans_section(plans, labels),
        _kpi_section(comparison),
        _charts_section(comparison, plans, labels, tradeoff),
        _maps_section(comparison, plans, labels),
        _reps_section(comparison, max_moves),
        _moves_section(comparison, max_moves),
    ]
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{html.escape(heading)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(sections)
        + f"\n<script>{_SYNC_PARENT_JS}</script>\n</body>\n</html>\n"
    )


def write_comparison(comparison: Comparison, plans: list[Plan], labels: list[str], out_dir: str | Path,
                     **report_kwargs) -> dict[str, Path]:
    """Write comparison.csv, moves.csv, reps.csv and report.html as the whole folder ``out_dir``.

    Every file is rendered before the first is written and the folder appears whole
    (``outputs.files.write_folder``); CSV cells are Excel-safe. ``report_kwargs`` go to
    :func:`render_report`. Returns file stem → path (``comparison``, ``moves``, ``reps``,
    ``report``), like ``write_plan``.
    """
    files = {
        "comparison.csv": csv_text(comparison.kpis),
        "moves.csv": csv_text(comparison.moves),
        "reps.csv": csv_text(comparison.reps),
        "report.html": render_report(comparison, plans, labels, **report_kwargs),
    }
    written = write_folder(out_dir, files)
    return {Path(name).stem: path for name, path in written.items()}


# --------------------------------------------------------------------------- tables


def _table(head: list[str], rows: list[list[str]], *, cls: str = "") -> str:
    """An HTML table from pre-escaped cells (a cell may be ``(html, class)``)."""
    def cell(tag: str, c) -> str:
        text, klass = c if isinstance(c, tuple) else (c, "")
        return f"<{tag}{f' class={klass!r}' if klass else ''}>{text}</{tag}>"

    body = "".join("<tr>" + "".join(cell("td", c) for c in row) + "</tr>" for row in rows)
    return (f"<div class='scroll'><table class='{cls}'><thead><tr>{''.join(cell('th', h) for h in head)}</tr></thead>"
            f"<tbody>{body}</tbody></table></div>")


def _settings(plan: Plan) -> str:
    scenario = plan.scenario
    parts = [f"{html.escape(str(k))} ±{v * 100:g}%" for k, v in scenario.balance.items()]
    continuity = getattr(scenario, "continuity", None)
    if continuity is not None and getattr(continuity, "min_kept", None) is not None:
        parts.append(f"keep ≥{continuity.min_kept * 100:g}% by {html.escape(str(continuity.by))}")
    if continuity is not None and getattr(continuity, "penalty", None) is not None:
        parts.append(f"move penalty {continuity.penalty:g}")
    if getattr(scenario, "max_distance_km", None):
        parts.append(f"max distance {scenario.max_distance_km:g}")
    return ", ".join(parts) or "—"


def _plans_section(plans: list[Plan], labels: list[str]) -> str:
    rows = []
    for i, (plan, label) in enumerate(zip(plans, labels, strict=True)):
        swatch = f"<span class='swatch' style='background:{_PLAN_COLORS[i % len(_PLAN_COLORS)]}'></span>"
        rows.append([swatch + ("<b>" + _e(label) + "</b>" if i == 0 else _e(label)), _e(plan.scenario.name),
                     _e(getattr(plan.scenario, "description", None)) or "—", _settings(plan), _e(plan.status),
                     f"{len(plan.assignments):,}", f"{len(plan.territories):,}"])
    head = ["plan", "scenario", "description", "settings", "status", "accounts", "territories"]
    return "<section><h2>Plans</h2>" + _table(head, rows) + "</section>"


def _kpi_section(comparison: Comparison) -> str:
    labels = comparison.labels
    head = ["KPI", "unit", *(_e(label) for label in labels), *(f"Δ {_e(label)}" for label in labels[1:]), "better"]
    rows = []
    for row in comparison.kpis.to_dict("records"):
        unit = str(row["unit"])
        cells = [_e(row["kpi"]), _e(unit)]
        cells += [(_e(format_value(row[label], unit)), "num") for label in labels]
        for label in labels[1:]:
            delta = row["delta " + label]
            tone = delta_tone(delta, row.get("better", ""), unit)
            cells.append((_e(format_delta(delta, unit)), f"num {tone}".strip()))
        cells.append({"lower": "lower ↓", "higher": "higher ↑"}.get(row.get("better", ""), ""))
        rows.append(cells)
    legend = ("<p class='note'>Δ: the plan minus plan A; <span class='better'>green</span> is better, "
              "<span class='worse'>red</span> worse, where a direction is better. Shares and % change in "
              "percentage points (pp).</p>")
    notes = "".join(f"<p class='note kpi-note'>{html.escape(note)}</p>" for note in comparison.notes)
    return "<section><h2>KPIs</h2>" + _table(head, rows, cls="kpis") + legend + notes + "</section>"


def _largest(frame: pd.DataFrame, by: pd.Series, limit: int) -> pd.DataFrame:
    order = np.argsort(-by.fillna(0).to_numpy(float), kind="stable")
    return frame.iloc[order[: max(0, limit)]]


def _reps_section(comparison: Comparison, limit: int) -> str:
    parts = ["<section><h2>Changes per rep</h2>"]
    head = ["rep", "name", "accounts +", "accounts −", "accounts net", "potential net", "workload net (h)",
            "quota before", "quota after", "quota change"]
    for label in comparison.labels[1:]:
        reps = comparison.reps[comparison.reps["plan"] == label]
        changed = reps[(reps["accounts_gained"] > 0) | (reps["accounts_lost"] > 0) | (reps["quota_change"].fillna(0).abs() > 0.5)]
        shown = _largest(changed, changed["potential_net"].abs(), limit)
        rows = [[_e(r["rep_id"]), _e(r["rep_name"]), f"{r['accounts_gained']:,}", f"{r['accounts_lost']:,}",
                 (format_delta(r["accounts_net"], "accounts"), "num"), (format_delta(r["potential_net"], "amount"), "num"),
                 (format_delta(r["workload_net"], "h"), "num"), (format_value(r["quota_before"], "currency"), "num"),
                 (format_value(r["quota_after"], "currency"), "num"), (format_delta(r["quota_change"], "currency"), "num")]
                for r in shown.to_dict("records")]
        parts.append(f"<h3>{_e(label)} vs {_e(comparison.labels[0])}: {len(changed):,} of {len(reps):,} reps change</h3>")
        if rows:
            parts.append(_table(head, rows))
        if len(changed) > len(shown):
            parts.append(f"<p class='note'>Showing the {len(shown):,} reps with the largest potential change of "
                         f"{len(changed):,}; reps.csv lists every rep.</p>")
    return "".join(parts) + "</section>"


def _moves_section(comparison: Comparison, limit: int) -> str:
    parts = ["<section><h2>Moved accounts</h2>"]
    head = ["account", "name", "from", "to", "potential", "workload (h)", "distance before", "distance after", "change"]
    for label in comparison.labels[1:]:
        moves = comparison.moves[comparison.moves["plan"] == label]
        shown = _largest(moves, moves["potential"], limit)
        rows = [[_e(m["account_id"]), _e(m["name"]),
                 _e(m["from_territory_id"]) + (f" <span class='dim'>({_e(m['from_rep_id'])})</span>" if id_text(m["from_rep_id"]) else ""),
                 _e(m["to_territory_id"]) + (f" <span class='dim'>({_e(m['to_rep_id'])})</span>" if id_text(m["to_rep_id"]) else ""),
                 (format_value(m["potential"], "amount"), "num"), (format_value(m["workload"], "h"), "num"),
                 (format_value(m["distance_km_before"], "km"), "num"), (format_value(m["distance_km_after"], "km"), "num"),
                 _e(m["change"])]
                for m in shown.to_dict("records")]
        parts.append(f"<h3>{_e(label)} vs {_e(comparison.labels[0])}: {len(moves):,} accounts</h3>")
        if rows:
            parts.append(_table(head, rows))
        if len(moves) > len(shown):
            parts.append(f"<p class='note'>Showing the {len(shown):,} largest by potential of {len(moves):,} "
                         "moves; moves.csv lists every one.</p>")
    return "".join(parts) + "</section>"


# --------------------------------------------------------------------------- charts


def _plain(text) -> str:
    """User text for matplotlib: '$' would start mathtext (and can raise)."""
    return str(text).replace("$", r"\$")


def _svg(fig, salt: str) -> str:
    """A matplotlib figure as inline SVG: text kept as text, no XML prolog, no metadata."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    return svg


def _figure(width: float, height: float):
    """A figure on the Agg canvas, without pyplot (no global state, safe in threads)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _balance_chart(plans: list[Plan], labels: list[str]) -> str:
    """Potential deviation from the mean (or target) per territory, one panel per plan, band shaded."""
    panels = []
    for plan in plans:
        t = plan.territories
        dev = pd.to_numeric(t["potential_dev_pct"], errors="coerce").to_numpy(float) if "potential_dev_pct" in t else np.array([])
        tolerance = plan.scenario.balance.get("potential")
        panels.append((dev, None if tolerance is None else 100 * float(tolerance), list(t.get("territory_id", []))))
    finite = [np.abs(d[np.isfinite(d)]).max() for d, _, _ in panels if np.isfinite(d).any()]
    bands = [b for _, b, _ in panels if b is not None]
    limit = max([*finite, *(b * 1.3 for b in bands), 1.0]) * 1.12
    fig = _figure(9.0, 2.1 * len(plans) + 0.4)
    axes = fig.subplots(len(plans), 1, sharey=True, squeeze=False)[:, 0]
    for ax, (dev, band, ids), label in zip(axes, panels, labels, strict=True):
        x = np.arange(len(dev))
        if band is not None:
            ax.axhspan(-band, band, color="#59A14F", alpha=0.13, lw=0, label=f"band ±{band:g}%")
            for y in (-band, band):
                ax.axhline(y, color="#59A14F", lw=0.8, ls="--")
        outside = np.abs(np.nan_to_num(dev)) > (band if band is not None else np.inf) + 1e-6
        ax.bar(x, np.nan_to_num(dev), color=np.where(outside, "#E15759", "#4E79A7"), width=0.8)
        ax.axhline(0, color="#333", lw=0.6)
        ax.set_ylim(-limit, limit)
        ax.set_xlim(-0.7, max(len(dev), 1) - 0.3)
        ax.set_ylabel("potential dev. %")
        ax.set_title(_plain(f"{label}: potential deviation per territory"
                            + (f" (band ±{band:g}%)" if band is not None else " (no potential band)")), fontsize=10, loc="left")
        if 0 < len(ids) <= 40:
            ax.set_xticks(x, [_plain(id_text(i) or "")[:14] for i in ids], rotation=90, fontsize=7)
        else:
            ax.set_xticks([])
            ax.set_xlabel(f"{len(ids):,} territories")
        ax.grid(axis="y", alpha=0.3)
    return _svg(fig, "tp-balance")


def _tradeoff_points(tradeoff) -> pd.DataFrame | None:
    if tradeoff is None:
        return None
    frame = tradeoff.copy() if isinstance(tradeoff, pd.DataFrame) else pd.DataFrame(
        [dict(p) for p in tradeoff] if isinstance(tradeoff, Iterable) else [])
    if "accounts_moved_share" not in frame.columns or not {"objective", "mean_distance_km"} & set(frame.columns):
        raise ValueError("tradeoff points need the columns accounts_moved_share (x, 0–1) and objective or "
                         f"mean_distance_km (y); got {list(frame.columns)}")
    return frame


def _tradeoff_chart(comparison: Comparison, plans: list[Plan], labels: list[str], tradeoff) -> tuple[str, str]:
    """(SVG, caption): disruption (x) against the objective or the mean distance (y)."""
    points = _tradeoff_points(tradeoff)
    figures = [plan_figures(p) for p in plans]
    xs = [f.get("accounts_moved_share") for f in figures]
    versus_today = all(isinstance(x, int | float) and np.isfinite(x) for x in xs)
    if not versus_today:  # no current_rep_id: disruption measured against plan A
        moved = comparison.moves[comparison.moves["change"] == "moved"].groupby("plan").size()
        total = max(1, len(plans[0].assignments))
        xs = [0.0] + [float(moved.get(label, 0)) / total for label in labels[1:]]
    objectives = [f.get("objective") for f in figures]
    # Objectives that measure different things (workload- vs potential-weighted km) do not
    # share an axis: the mean distance does, and the points given are drawn only with it.
    same_objective = len({p.cost_label for p in plans}) == 1
    if points is not None and not same_objective and "mean_distance_km" not in points.columns:
        points = None
    if points is not None:
        y_key = "objective" if same_objective and "objective" in points.columns else "mean_distance_km"
    else:
        y_key = "objective" if same_objective and all(np.isfinite(o) for o in objectives) else "mean_distance_km"
    ys = [float(f.get(y_key, np.nan)) if f.get(y_key) is not None else np.nan for f in figures]
    y_name = "objective" if y_key == "objective" else ("mean distance (km)" if plans[0].geometry != "planar" else "mean distance")
    fig = _figure(7.0, 4.2)
    ax = fig.subplots()
    if points is not None and len(points):
        pts = points.assign(_x=pd.to_numeric(points["accounts_moved_share"], errors="coerce"),
                            _y=pd.to_numeric(points[y_key], errors="coerce")).dropna(subset=["_x", "_y"]).sort_values("_x")
        ax.plot(100 * pts["_x"], pts["_y"], "o-", color="#999", lw=1, ms=4, label="trade-off points given", zorder=1)
        names = "label" if "label" in pts.columns else "name" if "name" in pts.columns else None
        if names is not None:
            for x, y, text in zip(pts["_x"], pts["_y"], pts[names].fillna(""), strict=True):
                ax.annotate(_plain(text)[:24], (100 * x, y), textcoords="offset points", xytext=(4, -10), fontsize=7, color="#777")
    for i, (x, y, label) in enumerate(zip(xs, ys, labels, strict=True)):
        if x is None or not np.isfinite(y):
            continue
        color = _PLAN_COLORS[i % len(_PLAN_COLORS)]
        ax.scatter([100 * x], [y], s=70, color=color, edgecolor="#222", zorder=3, label=_plain(label)[:30])
        ax.annotate(_plain(label)[:30], (100 * x, y), textcoords="offset points", xytext=(6, 5), fontsize=9)
    ax.set_xlabel("accounts moved " + ("vs today (%)" if versus_today else f"vs {_plain(labels[0])} (%)"))
    ax.set_ylabel(y_name)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    caption = (f"Disruption against {y_name}: lower left is better on both. x is the share of accounts that change "
               + ("owner against today's alignment (each plan's own current_rep_id)." if versus_today
                  else f"rep against plan {html.escape(labels[0])} (the plans have no current_rep_id).")
               + ("" if same_objective else " The plans' objectives measure different things, so y is the mean "
                  "distance, not the objective."))
    return _svg(fig, "tp-tradeoff"), caption


def _charts_section(comparison: Comparison, plans: list[Plan], labels: list[str], tradeoff) -> str:
    parts = ["<section><h2>Charts</h2>"]
    if any("potential_dev_pct" in p.territories.columns for p in plans):
        parts.append("<figure class='chart'>" + _balance_chart(plans, labels)
                     + "<figcaption>Potential of each territory against the mean (or its target share), in %; "
                     "red bars are outside the scenario's balance band.</figcaption></figure>")
    svg, caption = _tradeoff_chart(comparison, plans, labels, tradeoff)
    parts.append(f"<figure class='chart'>{svg}<figcaption>{caption}</figcaption></figure>")
    return "".join(parts) + "</section>"


# --------------------------------------------------------------------------- maps

_RING_JS = """
    var data = __DATA__;
    var layer = L.featureGroup();
    data.xy.forEach(function (p, k) {
        L.circleMarker([p[1], p[0]], {radius: 9, color: "#111111", weight: 3, opacity: 0.95, fill: false})
            .bindTooltip(data.tips[k]).addTo(layer);
    });
    return layer;
"""

_SYNC_MAP_JS = """
(function () {
    var map = window["__MAP__"], last = null, ready = false;
    if (!map || window.parent === window) { return; }
    // Only the user's moves are shared, not each map fitting its own bounds as it opens
    // (a frame out of sight may finish that fit only when scrolled into view).
    ["mousedown", "wheel", "touchstart", "keydown", "dblclick"].forEach(function (type) {
        map.getContainer().addEventListener(type, function () { ready = true; }, {capture: true, passive: true});
    });
    var same = function (a, b) {
        return a && b && a.zoom === b.zoom && Math.abs(a.lat - b.lat) < 1e-9 && Math.abs(a.lng - b.lng) < 1e-9;
    };
    map.on("moveend", function () {
        var c = map.getCenter(), view = {lat: c.lat, lng: c.lng, zoom: map.getZoom()};
        if (!ready || same(view, last) || !isFinite(view.lat + view.lng + view.zoom)) { return; }
        last = view;
        window.parent.postMessage({tpView: view}, "*");
    });
    window.addEventListener("message", function (e) {
        var v = e.data && e.data.tpSetView;
        if (!v || e.source !== window.parent || same(v, last)) { return; }
        last = v;
        map.setView([v.lat, v.lng], v.zoom, {animate: false});
    });
})();
"""

_SYNC_PARENT_JS = """
(function () {
    // The maps' pages are set once this page is laid out: a frame filled while the page is
    // still being parsed can have no size yet, and Leaflet would fit its bounds at zoom ∞.
    void document.body.offsetWidth;
    document.querySelectorAll("iframe.tp-map[data-srcdoc]").forEach(function (frame) {
        frame.srcdoc = frame.getAttribute("data-srcdoc");
        frame.removeAttribute("data-srcdoc");
    });
    var box = document.getElementById("tp-sync");
    window.addEventListener("message", function (e) {
        var view = e.data && e.data.tpView;
        if (!view || !box || !box.checked) { return; }
        document.querySelectorAll("iframe.tp-map").forEach(function (frame) {
            if (frame.contentWindow && frame.contentWindow !== e.source) {
                frame.contentWindow.postMessage({tpSetView: view}, "*");
            }
        });
    });
})();
"""


def _ring_tips(comparison: Comparison, index: int, labels: list[str]) -> dict[str, str]:
    """account key → tooltip HTML (escaped) for the accounts to ring on plan ``index``'s map."""
    moves = comparison.moves
    tips: dict[str, list[str]] = {}
    if index == 0:  # plan A: every account some other plan moves, with where it goes
        for m in moves.to_dict("records"):
            where = (f"to {_e(m['to_territory_id'])} ({_e(m['to_rep_id'])})" if m["change"] == "moved"
                     else "not in this plan" if m["change"] == "removed" else "")
            if where:
                tips.setdefault(id_text(m["account_id"]), []).append(f"{_e(m['plan'])}: {where}")
    else:
        for m in moves[moves["plan"] == labels[index]].to_dict("records"):
            origin = (f"from {_e(m['from_territory_id'])} ({_e(m['from_rep_id'])})" if m["change"] == "moved"
                      else f"not in {_e(labels[0])}")
            tips[id_text(m["account_id"])] = [origin + f" → {_e(m['to_territory_id'])} ({_e(m['to_rep_id'])})"]
    names = dict(zip(moves["account_id"].map(id_text), moves["name"], strict=True))
    return {key: f"<b>{_e(names.get(key)) or _e(key)}</b> {_e(key)}<br>" + "<br>".join(lines)
            for key, lines in tips.items()}


def _map_colors(plans: list[Plan]) -> list[dict | None]:
    """Per plan ``{territory_id: "#RRGGBB"}`` for ``plan_map(colors=...)``: one colour per territory on every map.

    The territories of all plans are coloured together, plan A's first in its order, then
    those new in a later plan in order of appearance (territories are matched by their id
    as text): up to 40 territories in all each keeps its own palette colour, so plan A's
    map looks as it does on its own; beyond 40 the colours repeat, never on two
    territories that are neighbours on any of the maps (the union of the plans' adjacency
    graphs), so a territory new in plan B gets a colour none of its neighbours has — and
    a territory plan A colours like a far-away one on its own map gets another colour here
    if plan B makes the two neighbours. None for a plan drawn without a map (its cell
    says why).
    """
    from territory_planner.outputs.map_frame import PALETTE, PlanFrame
    from territory_planner.outputs.map_outlines import territory_adjacency, territory_outlines
    from territory_planner.outputs.maps import territory_colors

    keys: dict[str, int] = {}
    drawn: list[tuple[Plan, list] | None] = []
    for plan in plans:
        try:
            ids = PlanFrame(plan).territory_ids if plan.geometry != "none" else None
        except Exception:  # no coordinates: _maps_section reports it
            ids = None
        drawn.append(None if ids is None else (plan, ids))
        for tid in ids or ():
            keys.setdefault(id_text(tid), len(keys))
    neighbours: list[set[int]] = [set() for _ in keys]
    if len(keys) > len(PALETTE):  # colours repeat: keep them apart on every map
        for plan, ids in filter(None, drawn):
            key = [keys[id_text(tid)] for tid in ids]
            try:
                adjacency = territory_adjacency(territory_outlines(plan), len(ids))
            except Exception:  # its map cannot be drawn either: _maps_section reports it
                continue
            for t, near in enumerate(adjacency):
                neighbours[key[t]].update(key[u] for u in near)
    joint = list(territory_colors(list(keys), neighbours).values())
    return [None if entry is None else {tid: joint[keys[id_text(tid)]] for tid in entry[1]} for entry in drawn]


def _map_page(comparison: Comparison, plans: list[Plan], labels: list[str], index: int,
              colors: dict | None = None) -> str:
    """Plan ``index``'s offline map page with the moved accounts ringed and the view synchronised.

    ``colors`` (``{territory_id: "#RRGGBB"}``, :func:`_map_colors`) colour its territories.
    """
    from territory_planner.outputs.map_frame import PlanFrame
    from territory_planner.outputs.map_layers import PlanLayer, fill_template, safe_json
    from territory_planner.outputs.maps import plan_map

    plan, label = plans[index], labels[index]
    tips = _ring_tips(comparison, index, labels)
    frame = PlanFrame(plan)
    acc = frame.accounts
    keys = acc["account_id"].map(id_text)
    ringed = acc[keys.isin(tips.keys()).to_numpy()]
    rings = []
    if len(ringed):
        lng, lat = frame.to_display(ringed["_x"], ringed["_y"])
        digits = 4 if frame.planar else 5
        data = {"xy": np.column_stack([np.round(lng, digits), np.round(lat, digits)]).tolist(),
                "tips": [tips[k] for k in ringed["account_id"].map(id_text)]}
        name = (f"Moved in {', '.join(labels[1:])} ({len(ringed):,})" if index == 0
                else f"Moved vs {labels[0]} ({len(ringed):,})")
        rings.append(PlanLayer(html.escape(name), fill_template(_RING_JS, DATA=safe_json(data))))
    m = plan_map(plan, title=f"{label}: {plan.scenario.name}", extra_layers=rings, element_prefix=f"cmp{index}",
                 colors=colors)
    page = m.get_root().render()
    sync = "<script>" + _SYNC_MAP_JS.replace("__MAP__", m.get_name()) + "</script>\n"
    cut = page.rfind("</html>")
    return page[:cut] + sync + page[cut:] if cut >= 0 else page + sync


def _maps_section(comparison: Comparison, plans: list[Plan], labels: list[str]) -> str:
    cells = []
    colors = _map_colors(plans)
    for i, (plan, label) in enumerate(zip(plans, labels, strict=True)):
        heading = f"<h3>{_e(label)}{' (plan A)' if i == 0 else ''}</h3>"
        if plan.geometry == "none":
            cells.append(f"<div class='map-cell'>{heading}<p class='note'>No map: geometry none has no coordinates.</p></div>")
            continue
        try:
            page = _map_page(comparison, plans, labels, i, colors[i])
        except Exception as exc:  # a plan without coordinates must not cost the whole report
            cells.append(f"<div class='map-cell'>{heading}<p class='note'>No map: {html.escape(str(exc))}</p></div>")
            continue
        cells.append(f"<div class='map-cell'>{heading}<iframe class='tp-map' title='map of plan {_e(label)}' "
                     f"sandbox='allow-scripts' data-srcdoc=\"{html.escape(page, quote=True)}\"></iframe></div>")
    control = ("<label class='note'><input type='checkbox' id='tp-sync' checked> synchronise the maps "
               "(pan or zoom one, the others follow)</label>")
    note = ("<p class='note'>Accounts ringed in black change rep against plan A (on plan A's map: those any other "
            "plan moves); hover a ring for from → to. Each map's layer control toggles the rings.</p>")
    return f"<section><h2>Maps</h2>{control}{note}<div class='maps'>{''.join(cells)}</div></section>"


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;padding:12px 24px 40px;
max-width:1500px;color:#222;background:#fff}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
h3{font-size:15px;margin:16px 0 6px}
.note{color:#555;font-size:12.5px}.dim{color:#777}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px}
th,td{border-bottom:1px solid #e4e4e4;padding:3px 9px;text-align:left;vertical-align:top}
th{background:#f5f5f5;font-weight:600;white-space:nowrap}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.better{color:#1a7f37;font-weight:600}.worse{color:#c62828;font-weight:600}
td.better{background:#e9f6ec}td.worse{background:#fdecec}
.swatch{display:inline-block;width:10px;height:10px;margin-right:6px;border:1px solid #555;vertical-align:-1px}
figure.chart{margin:10px 0 18px}figure.chart svg{max-width:100%;height:auto}
figcaption{color:#555;font-size:12.5px}
.maps{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:14px}
.map-cell h3{margin:6px 0}
iframe.tp-map{width:100%;height:540px;border:1px solid #bbb;border-radius:4px}
"""

