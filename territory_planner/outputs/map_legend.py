"""The map's legend: the plan's status and each territory's balance against its band.

A fixed panel (``Legend``) in the map's corner: the scenario's heading, status, gap,
largest balance deviation, counts (accounts, territories, vacant seats, accounts that
change rep), then one row per territory — its colour, id and rep, and a bar per balanced
activity (potential, workload) showing its deviation from target inside the scenario's
band (shaded): a bar past the band is red. The rows scroll, so 30 or 300 territories take
the same room. Every user string is HTML-escaped; the numbers behind each bar are in its
tooltip. The status is said in the planner's words (:func:`status_words`), the solver's
raw status in its tooltip. ``maps.plan_map`` adds the panel (:class:`Legend`, from
:func:`legend_html` and :func:`legend_css`) and then fits the plan clear of it
(:class:`FitClearOfLegend`); this module imports only ``map_frame``.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
from branca.element import MacroElement
from folium.template import Template

from territory_planner.outputs.map_frame import (
    BACKGROUND,
    PlanFrame,
    finite_number,
    html_text,
    is_missing,
)

#: The activities that get a bar, when the territory table has their deviation.
BAR_ACTIVITIES = ("potential", "workload")
IN_BAND = "#4E79A7"
#: Up to this many territories the balance rows open with the page (where it has room).
OPEN_ROWS = 12
OUT_OF_BAND = "#C62828"


class Legend(MacroElement):
    """Fixed panel with the scenario KPIs and the territory balance (pre-escaped HTML).

    ``markup`` is :func:`legend_html`'s, ``css`` :func:`legend_css`'s. Its script opens
    the balance rows at once (``details[data-room]``) in a window of at least 800 × 700 px.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
        {% macro html(this, kwargs) %}{{ this.markup }}{% endmacro %}
        {% macro script(this, kwargs) %}
            document.querySelectorAll(".tp-legend details[data-room]").forEach(function (d) {
                if (window.innerWidth >= 800 && window.innerHeight >= 700) { d.open = true; }
            });
        {% endmacro %}
        """
    )

    def __init__(self, markup: str, css: str):
        super().__init__()
        self._name = "Legend"
        self.markup = markup
        self.css = css


class FitClearOfLegend(MacroElement):
    """Fit the map to the plan's bounds where the legend leaves room, once the page is laid out.

    The legend is a fixed panel in the bottom-left corner whose size depends on the
    window (its rows open only where there is room) and on the plan, so the padding is
    measured in the page: the plan is fitted either beside the legend (left padding = its
    right edge) or above it (bottom padding = its height), whichever shows the plan
    larger, so that no account is under the legend when the page opens. Where the legend
    leaves less than a third of the map either way (a tiny window), the plan is fitted
    to the whole map, as it would be without a legend. ``bounds`` is
    ``[[south, west], [north, east]]`` in display coordinates; ``padding`` the margin in
    pixels on every side.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function (map, bounds, pad) {
                var size = map.getSize(), legend = document.querySelector(".tp-legend");
                var fits = [[[pad, pad], [pad, pad]]], best = null;
                if (legend && legend.offsetWidth > 0) {
                    var box = map.getContainer().getBoundingClientRect(), r = legend.getBoundingClientRect();
                    var beside = Math.max(pad, r.right - box.left + pad), above = Math.max(pad, box.bottom - r.top + pad);
                    fits = [[[beside, pad], [pad, pad]], [[pad, pad], [pad, above]]];
                }
                fits.forEach(function (f) {
                    var padding = L.point(f[0]).add(f[1]), room = size.subtract(padding);
                    if (room.x < size.x / 3 || room.y < size.y / 3) { return; }
                    var zoom = map.getBoundsZoom(bounds, false, padding);
                    if (isFinite(zoom) && (best === null || zoom > best.zoom)) { best = {zoom: zoom, fit: f}; }
                });
                var fit = best === null ? [[pad, pad], [pad, pad]] : best.fit;
                map.fitBounds(bounds, {paddingTopLeft: fit[0], paddingBottomRight: fit[1]});
            })({{ this._parent.get_name() }}, {{ this.bounds|tojson }}, {{ this.padding|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds, padding: int = 12):
        super().__init__()
        self._name = "FitClearOfLegend"
        self.bounds = [[float(v) for v in corner] for corner in bounds]
        self.padding = int(padding)


def legend_css() -> str:
    """The page's CSS for the legend, the popups' tables, badges and home markers."""
    return (
        f".leaflet-container{{background:{BACKGROUND};}}"
        ".tp-legend{position:fixed;bottom:52px;left:10px;z-index:1000;background:rgba(255,255,255,.94);"
        "border:1px solid #999;border-radius:6px;padding:8px 10px;font:12px/1.35 system-ui,sans-serif;"
        "max-width:340px;box-shadow:0 1px 4px rgba(0,0,0,.25);}"
        ".tp-legend h4{margin:0 0 4px;font-size:14px;}"
        ".tp-legend summary{cursor:pointer;margin-top:4px;}"
        ".tp-rows{max-height:30vh;overflow:auto;margin-top:3px;}"
        ".tp-bal{border-collapse:collapse;font-size:11px;}"
        ".tp-bal th{position:sticky;top:0;background:#fff;font-weight:600;text-align:left;padding:0 4px 2px 0;}"
        ".tp-bal td{padding:0 4px 0 0;white-space:nowrap;}"
        ".tp-cell{display:inline-flex;align-items:center;max-width:130px;vertical-align:bottom;}"
        ".tp-label{min-width:0;overflow:hidden;text-overflow:ellipsis;}"
        ".tp-cell .tp-swatch{flex:none;}.tp-cell .tp-badge{flex:none;margin-left:4px;}"
        ".tp-bal td.tp-num{text-align:right;font-variant-numeric:tabular-nums;}"
        ".tp-bar{display:inline-block;position:relative;width:54px;height:9px;background:#EEE;vertical-align:-1px;}"
        ".tp-bar i{position:absolute;top:0;bottom:0;background:#CFE3CC;}"
        ".tp-bar b{position:absolute;top:1px;bottom:1px;}"
        ".tp-bar u{position:absolute;top:-1px;bottom:-1px;left:50%;border-left:1px solid #555;}"
        ".tp-keys{margin-top:5px;color:#444;font-size:11px;}"
        ".tp-keys span{margin-right:8px;white-space:nowrap;}"
        ".tp-swatch{display:inline-block;width:10px;height:10px;margin-right:5px;border:1px solid #555;"
        "vertical-align:-1px;}"
        ".tp-table th{text-align:left;padding-right:8px;font-weight:600;white-space:nowrap;vertical-align:top;}"
        ".tp-table td{text-align:right;}.tp-legend .tp-table td{white-space:nowrap;}"
        ".tp-legend .tp-table td.tp-status{white-space:normal;text-align:left;min-width:170px;}"
        ".tp-status span{border-bottom:1px dotted #888;cursor:help;}"
        ".tp-popup-title{font-weight:700;margin-bottom:3px;}"
        ".tp-out{color:#C62828;font-weight:600;}"
        ".tp-badge{background:#1A1A1A;color:#fff;border-radius:3px;padding:0 4px;font-size:10px;font-weight:600;"
        "white-space:nowrap;}"
        ".tp-home{width:12px;height:12px;transform:rotate(45deg);border:2.5px solid #fff;"
        "box-shadow:0 0 0 1.5px #222;}"
        ".tp-home.tp-open{background:#fff !important;border:2.5px dashed #1A1A1A;box-shadow:none;}"
        ".tp-home-icon{background:none;border:none;}"
        ".tp-vacant{display:inline-block;width:12px;height:9px;border:2px dashed #1A1A1A;background:#DDD;"
        "vertical-align:-1px;margin-right:3px;}"
        ".tp-line{display:inline-block;width:16px;border-top:2px solid #4E79A7;vertical-align:3px;margin-right:3px;}"
    )


def _deviations(frame: PlanFrame, summary: dict) -> dict[str, float]:
    """Largest |deviation| per activity: the KPI module's, else the territory table's."""
    kpis = summary.get("kpis") or {}
    devs = {k[: -len("_max_dev_pct")]: float(v) for k, v in kpis.items()
            if k.endswith("_max_dev_pct") and finite_number(v) is not None}
    if not devs:
        for activity in BAR_ACTIVITIES:
            col = f"{activity}_dev_pct"
            if col in frame.territories.columns:
                values = pd.to_numeric(frame.territories[col], errors="coerce").abs()
                if values.notna().any():
                    devs[activity] = float(values.max())
    return devs


def _bar(dev: float | None, band: float | None, half_range: float, title: str) -> str:
    """A deviation bar: centre line at 0, band shaded, the deviation drawn from the centre."""
    shade = "" if band is None else f'<i style="left:{50 - 50 * band / half_range:.1f}%;width:{100 * band / half_range:.1f}%"></i>'
    value = ""
    if dev is not None:
        width = min(50.0, 50 * abs(dev) / half_range)
        left = 50.0 if dev >= 0 else 50.0 - width
        outside = band is not None and abs(dev) > band + 1e-9
        color = OUT_OF_BAND if outside else IN_BAND
        value = f'<b style="left:{left:.1f}%;width:{max(width, 0.8):.1f}%;background:{color}"></b>'
    return f'<span class="tp-bar" title="{title}">{shade}{value}<u></u></span>'


def _balance_rows(frame: PlanFrame) -> tuple[str, list[int]]:
    """(the per-territory table HTML, the territories outside a band): colour, id · rep, bars."""
    terr = frame.territories
    activities = [a for a in BAR_ACTIVITIES if f"{a}_dev_pct" in terr.columns
                  and pd.to_numeric(terr[f"{a}_dev_pct"], errors="coerce").notna().any()]
    share = terr["target_share"] if "target_share" in terr.columns else pd.Series([None] * len(terr))
    scales = {}
    for activity in activities:
        devs = pd.to_numeric(terr[f"{activity}_dev_pct"], errors="coerce").abs()
        band = frame.bands.get(activity)
        scales[activity] = max(2 * 100 * band if band is not None else 0.0, 1.05 * float(np.nanmax(devs)), 1.0)
    head = "".join(f"<th colspan=2>{html.escape(a)}" + (f" ±{100 * frame.bands[a]:g}%" if a in frame.bands else "") + "</th>"
                   for a in activities)
    rows, outside = [], []
    for t, tid in enumerate(frame.territory_ids):
        rep = frame.rep_label(t)
        name = html_text(tid) + (f" · {rep}" if rep else "")
        vacant = '<span class="tp-badge">vacant</span>' if frame.vacant[t] else ""
        # The name gives way (cut short, whole in its tooltip), never the swatch or the badge.
        cells = [f'<td class="tp-name"><span class="tp-cell"><span class="tp-swatch" style="background:{frame.colors[t]}">'
                 f'</span><span class="tp-label" title="{name}">{name}</span>{vacant}</span></td>']
        target = "mean" if finite_number(share.iloc[t]) is None else "target"
        for activity in activities:
            dev = finite_number(terr[f"{activity}_dev_pct"].iloc[t])
            band = frame.bands.get(activity)
            pct = None if band is None else 100 * band
            total = finite_number(terr[activity].iloc[t]) if activity in terr.columns else None
            if pct is not None and dev is not None and abs(dev) > pct + 1e-9 and t not in outside:
                outside.append(t)
            title = (f"{html.escape(activity)} {'—' if total is None else f'{total:,.0f}'}: "
                     f"{'—' if dev is None else f'{dev:+.1f}%'} vs {target}"
                     + ("" if pct is None else f" (band ±{pct:g}%)"))
            cells.append(f"<td>{_bar(dev, pct, scales[activity], title)}</td>"
                         f"<td class=\"tp-num\">{'—' if dev is None else f'{dev:+.1f}%'}</td>")
        rows.append(f'<tr class="tp-row">{"".join(cells)}</tr>')
    table = f'<table class="tp-bal"><thead><tr><th>territory</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return table, outside


def status_words(status, gap: float | None) -> str:
    """The plan's status as a planner says it (plain text), from the run's status and gap.

    ``gap`` is the plan's relative gap to the proven bound (0.0036 for 0.36%), None when
    no bound was proven.

    >>> status_words("time_limit", 0.0036)
    'time limit reached — best plan found, within 0.36% of the proven bound'
    >>> status_words("optimal", 0.0)
    'optimal (proven)'
    >>> status_words("interrupted", None)
    'stopped by Ctrl-C — best plan found so far, no proven bound'
    """
    within = "no proven bound" if gap is None else f"within {_percent(gap)} of the proven bound"
    word = "" if is_missing(status) else str(status).strip()
    if word == "optimal":
        return "optimal (proven)" if gap is None or gap < 5e-5 else f"optimal (proven to within {_percent(gap)})"
    if word == "time_limit":
        return f"time limit reached — best plan found, {within}"
    if word == "interrupted":
        return f"stopped by Ctrl-C — best plan found so far, {within}"
    if word == "feasible":
        return "feasible, no proof" + ("" if gap is None else f" ({within})")
    if word == "edited":
        return "edited by hand — breaks constraints of its scenario (see the notes)"
    return word or "—"


def _percent(share: float) -> str:
    pct = 100 * share
    return "<0.01%" if 0 < pct < 0.005 else f"{pct:.2f}%"


def _status_cell(status, gap: float | None) -> str:
    """The status in words, escaped; the solver's own word in the tooltip."""
    raw = html_text(status)
    words = html.escape(status_words(status, gap), quote=True)
    return f'<span title="solver status: {raw or "none"}">{words}</span>'


def legend_html(frame: PlanFrame, summary: dict, heading: str, *, notes: tuple[str, ...] = ()) -> str:
    """The legend's HTML from the frame (colours set) and ``plan.summary()``.

    ``heading`` is plain text (escaped here); ``notes`` are pre-escaped lines at its foot.
    """
    gap = finite_number(summary.get("gap"))
    kpis = summary.get("kpis") or {}
    devs = _deviations(frame, summary)
    overall = finite_number(kpis.get("max_balance_dev_pct"))
    if devs:
        deviation = "<br>".join(f"{html_text(k)} ±{v:.1f}%"
                                + (f" <small>(band ±{100 * frame.bands[k]:g}%)</small>" if k in frame.bands else "")
                                for k, v in devs.items())
    else:
        deviation = "—" if overall is None else f"±{overall:.1f}%"
    moved = int((frame.accounts["_from"] > -2).sum())
    rows = [
        ("status", _status_cell(summary.get("status"), gap)),
        ("gap", "—" if gap is None else f"{gap * 100:.2f}%"),
        ("largest deviation", deviation),
        ("accounts", f"{len(frame.accounts):,}" + (f" ({moved:,} change rep)" if moved else "")),
        ("territories", f"{len(frame.territory_ids):,}" + (f" ({int(frame.vacant.sum()):,} vacant)" if frame.vacant.any() else "")),
    ]
    cell = {"status": '<td class="tp-status">'}
    body = "".join(f"<tr><th>{k}</th>{cell.get(k, '<td>')}{v}</td></tr>" for k, v in rows)
    table, outside = _balance_rows(frame)
    keys = ['<span><span class="tp-bar" style="width:22px"><i style="left:0;width:100%"></i></span> band</span>',
            f'<span><span class="tp-swatch" style="background:{OUT_OF_BAND}"></span>outside</span>',
            '<span>◆ rep home</span>']
    if frame.vacant.any():
        keys.append('<span><span class="tp-vacant"></span>vacant</span>')
    if moved:
        keys.append('<span><span class="tp-line"></span>moved account (layer)</span>')
    foot = "".join(f'<div class="tp-keys">{note}</div>' for note in notes)
    # The summary answers "is any territory out of its band?"; the rows open on a click
    # (at once for a few territories on a page with room: at least 800 × 700 px), so the
    # panel never hides half the map, nor a small map in the comparison report.
    if outside:
        names = ", ".join(html_text(frame.territory_ids[t]) for t in outside[:3]) + (", …" if len(outside) > 3 else "")
        verdict = f'<span class="tp-out">{len(outside):,} outside the band: {names}</span>'
    else:
        verdict = "all within the band" if frame.bands else ""
    summary_line = "balance per territory" + (f" · {verdict}" if verdict else "")
    opened = " data-room" if len(frame.territory_ids) <= OPEN_ROWS else ""
    return (
        f'<div class="tp-legend"><h4>{html.escape(heading)}</h4><table class="tp-table">{body}</table>'
        f'<details{opened}><summary>{summary_line}</summary><div class="tp-rows">{table}</div>'
        f'<div class="tp-keys">{"".join(keys)}</div></details>{foot}</div>'
    )
