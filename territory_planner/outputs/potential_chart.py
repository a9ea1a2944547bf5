"""Where to sell, as a chart: each account's potential against its revenue, by tier.

:func:`potential_chart_png` draws a :class:`~territory_planner.potential.step.Estimate`
(what a scenario's ``potential:`` section found) as one PNG a sales leader reads at a
glance:

* a **log-log scatter**, revenue across, potential up, one colour per tier (top tier
  first in the legend, with its count of accounts);
* the **diagonal** potential = revenue (100% penetration: nothing left to sell; an
  estimated potential is never below it), and the **grow** and **harvest** boundaries
  of the penetration tiers: potential = revenue / ``grow_below`` (above it: grow) and
  potential = revenue / ``harvest_from`` (below it: harvest), their regions shaded;
* **prospects** (no revenue) cannot sit on a log axis: they stand in a narrow strip at
  the left edge, on the same potential axis, titled with their count;
* amounts in currency ($10k, $1M); accounts without potential (0 or blank, which no log
  axis shows either) are counted in a note.

:func:`chart_points` is what the chart plots (one row per account, with its panel), and
:func:`potential_chart_figure` the matplotlib figure before it is saved, so that a test
reads the legend and the plotted series. The figure is built on the Agg canvas with
matplotlib's ``Figure`` API (no pyplot, no global state), at a fixed size (1000 × 700
px) and without a software stamp in the PNG, so the same estimate gives the same bytes.
"""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd

from territory_planner.potential import Estimate

#: The PNG's size: inches at DPI (1000 × 700 px).
SIZE = (10.0, 7.0)
DPI = 100
TITLE = "Potential against revenue by tier"
DIAGONAL_COLOR = "#333333"
GROW_COLOR = "#59A14F"
HARVEST_COLOR = "#E15759"
#: Tier colours, top tier first (the map palette without its green and red, which the
#: grow and harvest lines use), cycled beyond six tiers.
TIER_PALETTE = ("#4E79A7", "#F28E2B", "#B07AA1", "#76B7B2", "#9C755F", "#EDC948")
#: Where the panels sit (figure fractions): fixed, so a boundary's label can follow its slope.
MARGINS = {"left": 0.075, "right": 0.985, "bottom": 0.1, "top": 0.9, "wspace": 0.025}
WIDTHS = (1, 9)


def short_money(value: float) -> str:
    """An amount as a short label: $950, $25k, $2.5M (three significant digits at most).

    >>> [short_money(v) for v in (950, 25_000, 2_500_000, 1_250_000_000, -40_000)]
    ['$950', '$25k', '$2.5M', '$1.25B', '−$40k']
    """
    if value is None or not math.isfinite(value):
        return "—"
    sign = "−" if value < 0 else ""
    v = abs(float(value))
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= scale:
            return f"{sign}${float(f'{v / scale:.3g}'):g}{unit}"
    return f"{sign}${float(f'{v:.3g}'):g}"


def tier_order(estimate: Estimate) -> list[str]:
    """The tiers as the chart and map list them: the spec's order (top tier first), then any other."""
    names = [str(n) for n in estimate.spec.tiers.names]
    seen = set(names)
    extra = sorted({str(t) for t in estimate.accounts["tier"].dropna()} - seen)
    return names + extra


def tier_colors(tiers: list[str]) -> dict[str, str]:
    """``{tier: "#RRGGBB"}``: ``TIER_PALETTE`` in tier order."""
    return {t: TIER_PALETTE[i % len(TIER_PALETTE)] for i, t in enumerate(tiers)}


def chart_points(estimate: Estimate) -> pd.DataFrame:
    """What the chart plots: one row per account, in the estimate's order.

    Columns ``account_id``, ``tier`` (text), ``revenue`` (as measured, blank: 0),
    ``potential`` and ``panel``: ``"customers"`` (revenue and potential above 0: the
    log-log scatter), ``"prospects"`` (no revenue, potential above 0: the strip at the
    left) or ``"not shown"`` (no potential: 0, blank or negative).
    """
    accounts = estimate.accounts
    revenue = estimate.revenue
    potential = pd.to_numeric(accounts["potential"], errors="coerce").to_numpy(float)
    has_potential = np.isfinite(potential) & (potential > 0)
    panel = np.where(~has_potential, "not shown", np.where(revenue > 0, "customers", "prospects"))
    return pd.DataFrame({
        "account_id": accounts["account_id"].astype(str).to_numpy(),
        "tier": accounts["tier"].astype(str).to_numpy(),
        "revenue": revenue,
        "potential": potential,
        "panel": panel,
    })


def _plain(text: str) -> str:
    """Text for matplotlib: '$' would start mathtext."""
    return str(text).replace("$", r"\$")


def _money_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10))
    axis.set_major_formatter(FuncFormatter(lambda v, _: _plain(short_money(v)) if v > 0 else ""))
    axis.set_minor_formatter(NullFormatter())


def _limits(values: np.ndarray) -> tuple[float, float]:
    """Log-axis limits around positive ``values``, a little wider than their range."""
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):
        return 1.0, 10.0
    low, high = float(values.min()), float(values.max())
    return low / 1.6, high * 1.6


def _slope_angle(xlim, ylim) -> float:
    """Degrees on the page of a line of slope 1 on the log-log panel (fixed ``MARGINS``)."""
    width = SIZE[0] * (MARGINS["right"] - MARGINS["left"]) * WIDTHS[1] / (sum(WIDTHS) + MARGINS["wspace"])
    height = SIZE[1] * (MARGINS["top"] - MARGINS["bottom"])
    return math.degrees(math.atan2(height / math.log(ylim[1] / ylim[0]), width / math.log(xlim[1] / xlim[0])))


def _boundary(ax, share: float, xlim, ylim, *, color: str, ls: str, text: str, above: bool, angle: float) -> None:
    """The line potential = revenue / ``share``, labelled along it near its lower end.

    Low revenue is where accounts sit far above the lines (their potential is benchmarked
    on bigger lookalikes), so the labels rarely cover a point there.
    """
    x = np.geomspace(*xlim, 64)
    ax.plot(x, x / share, color=color, lw=1.2, ls=ls, zorder=2)
    at = max(xlim[0], share * ylim[0]) * 1.6  # a fifth of a decade in from where it enters the panel
    if at < xlim[1] and at / share < ylim[1]:
        ax.text(at, at / share * (1.08 if above else 1 / 1.08), text, color=color, fontsize=8.5, rotation=angle,
                rotation_mode="anchor", ha="left", va="bottom" if above else "top", zorder=4)


def potential_chart_figure(estimate: Estimate):
    """The chart as a matplotlib ``Figure`` (Agg canvas, no pyplot); see the module docstring.

    Each tier's points are one scatter per panel whose ``gid`` is the tier name (the
    customers' scatter is labelled ``"<tier> (<n> accounts)"`` in the legend, ``n``
    counting all the tier's accounts: both panels and any not shown).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    points = chart_points(estimate)
    tiers = tier_order(estimate)
    colors = tier_colors(tiers)
    penetration = estimate.spec.penetration
    customers = points[points["panel"] == "customers"]
    prospects = points[points["panel"] == "prospects"]
    hidden = int((points["panel"] == "not shown").sum())

    fig = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    strip, ax = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": list(WIDTHS)})
    fig.subplots_adjust(**MARGINS)
    shown = points[points["panel"] != "not shown"]
    xlim = _limits(customers["revenue"].to_numpy(float))
    ylim = _limits(np.concatenate([shown["potential"].to_numpy(float), customers["revenue"].to_numpy(float)]))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    angle = _slope_angle(xlim, ylim)

    # Penetration regions and their boundaries: potential = revenue / share.
    x = np.geomspace(*xlim, 64)
    top = np.full_like(x, ylim[1])
    grow, harvest = penetration.grow_below, penetration.harvest_from
    lines = [Line2D([], [], color=DIAGONAL_COLOR, lw=1.2, label="potential = revenue (100% penetration)")]
    _boundary(ax, 1.0, xlim, ylim, color=DIAGONAL_COLOR, ls="-", text="100% penetration", above=False, angle=angle)
    if grow > 0:
        ax.fill_between(x, np.minimum(x / grow, top), top, color=GROW_COLOR, alpha=0.08, lw=0, zorder=0)
        _boundary(ax, grow, xlim, ylim, color=GROW_COLOR, ls="--", text=f"grow: below {grow:.0%}", above=True,
                  angle=angle)
        lines.append(Line2D([], [], color=GROW_COLOR, lw=1.2, ls="--",
                            label=f"grow below {grow:.0%} penetration (potential = revenue / {grow:g})"))
        ax.text(0.015, 0.985, "grow", transform=ax.transAxes, color=GROW_COLOR, fontsize=11, fontweight="bold",
                va="top", ha="left")
    if 0 < harvest < 1:
        ax.fill_between(x, x, np.minimum(x / harvest, top), color=HARVEST_COLOR, alpha=0.08, lw=0, zorder=0)
    if harvest > 0:
        _boundary(ax, harvest, xlim, ylim, color=HARVEST_COLOR, ls=":", text=f"harvest: from {harvest:.0%}",
                  above=True, angle=angle)
        lines.append(Line2D([], [], color=HARVEST_COLOR, lw=1.2, ls=":",
                            label=f"harvest from {harvest:.0%} penetration (potential = revenue / {harvest:g})"))

    counts = points["tier"].value_counts()
    for tier in tiers:
        mine = customers[customers["tier"] == tier]
        label = _plain(f"{tier} ({int(counts.get(tier, 0)):,} accounts)")
        ax.scatter(mine["revenue"], mine["potential"], s=12, color=colors[tier], alpha=0.65, lw=0, label=label,
                   gid=tier, zorder=3)
        # The prospects' strip: spread across by a fixed low-discrepancy sequence (no randomness).
        theirs = prospects[prospects["tier"] == tier]
        spread = ((np.flatnonzero(prospects["tier"].to_numpy() == tier) + 1) * 0.6180339887) % 1.0
        strip.scatter(0.1 + 0.8 * spread, theirs["potential"], s=12, color=colors[tier], alpha=0.65, lw=0,
                      gid=tier, zorder=3)
    strip.set_xlim(0, 1)
    strip.set_xticks([])
    strip.set_xlabel(f"prospects\n(no revenue): {len(prospects):,}", fontsize=9)
    strip.set_facecolor("#F5F5F5")
    strip.set_ylabel("potential")
    for axis in (ax.xaxis, ax.yaxis):
        _money_axis(axis)
    ax.tick_params(axis="y", labelleft=False)
    ax.set_xlabel(_plain(f"revenue ({estimate.revenue_column})"))
    ax.grid(True, which="major", color="#DDDDDD", lw=0.6, zorder=1)
    strip.grid(True, axis="y", which="major", color="#DDDDDD", lw=0.6, zorder=1)
    tier_legend = ax.legend(title="tier", loc="upper left", bbox_to_anchor=(0.0, 0.94), fontsize=9,
                            title_fontsize=9, markerscale=1.6, frameon=True)
    ax.add_artist(tier_legend)
    ax.legend(handles=lines, loc="lower right", fontsize=8.5, frameon=True)
    note = f"{len(points):,} accounts: {len(customers):,} customers, {len(prospects):,} prospects"
    if hidden:
        note += f"; {hidden:,} without potential not shown"
    ax.set_title(_plain(note), fontsize=9, loc="right", color="#555555")
    fig.suptitle(TITLE, fontsize=14, fontweight="bold")
    return fig


def potential_chart_png(estimate: Estimate) -> bytes:
    """The chart as PNG bytes, 1000 × 700 px; the same estimate gives the same bytes."""
    buffer = io.BytesIO()
    potential_chart_figure(estimate).savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()
