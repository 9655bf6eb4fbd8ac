"""Server-side charts of a self-assessment (matplotlib, Agg backend): inline SVG or PNG bytes.

Each function takes plain data (the readiness / assessment dict), draws one figure and returns it;
nothing here runs the engine. SVG keeps its text as text (``svg.fonttype: none``) so the page stays
small and searchable; the PDF report uses the PNG variants.
"""
from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")  # no display, thread-safe figure objects (never pyplot's global state)

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

BLUE, GREY, RED, GREEN, AMBER = "#1f5f8b", "#8a97a3", "#b3261e", "#2e7d32", "#b26a00"
CARD_LABELS = {"rights_certainty": "Rights certainty", "competitive_contribution": "Competitive contribution",
               "revenue_potential": "Revenue potential"}
RC = {"svg.fonttype": "none", "font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
      "font.family": "DejaVu Sans"}


def _money(x: float, _pos=None) -> str:
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:.1f}bn"
    if a >= 1e6:
        return f"{x / 1e6:.0f}m" if a >= 1e7 else f"{x / 1e6:.1f}m"
    if a >= 1e3:
        return f"{x / 1e3:.0f}k"
    return f"{x:.0f}"


def _figure(w: float = 5.6, h: float = 3.1) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(w, h), layout="constrained")


def to_svg(fig: Figure, title: str) -> str:
    """The figure as an inline <svg> element with a <title> (accessible name), no XML prologue."""
    buf = io.StringIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'(<svg[^>]*?)\swidth="[^"]*"\sheight="[^"]*"', r'\1', svg, count=1)  # scale with CSS
    svg = svg.replace(">", f' role="img" aria-label="{title}"><title>{title}</title>', 1)
    return svg


def to_png(fig: Figure, dpi: int = 150) -> bytes:
    buf = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def value_distribution(hist: dict, valuation: dict) -> Figure:
    """Histogram of the simulated IP value today (positive paths), with p5/p50/p95 and the mean."""
    with matplotlib.rc_context(RC):
        fig = _figure()
        ax = fig.add_subplot()
        edges, counts, n = hist["edges"], hist["counts"], max(hist["paths"], 1)
        if len(edges) > 1 and sum(counts) > 0:
            widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
            ax.bar(edges[:-1], [c / n for c in counts], width=widths, align="edge", color=BLUE, alpha=0.75,
                   edgecolor="white", linewidth=0.4, label="share of paths")
        marks = [("p5", valuation["p5"], GREY, ":"), ("p50", valuation["p50"], GREY, "--"),
                 ("mean (appraised)", valuation["appraised_value"], RED, "-"),
                 ("p95", valuation["p95"], GREY, ":")]
        for label, x, color, style in marks:
            if x > 0:
                ax.axvline(x, color=color, linestyle=style, linewidth=1.2, label=f"{label} {_money(x)}")
        ax.xaxis.set_major_formatter(FuncFormatter(_money))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _p: f"{100 * y:.1f}%"))
        ax.set_xlabel("IP value today, CNY (paths with value > 0)")
        ax.set_ylabel("share of paths")
        ax.set_title(f"Distribution of the IP value — {100 * valuation['prob_zero']:.0f}% of paths worth 0",
                     loc="left", fontsize=10)
        ax.legend(fontsize=8.5, loc="best", frameon=True, framealpha=0.85, edgecolor="none")
    return fig


def cash_flow_fan(valuation: dict) -> Figure:
    """IP cash flow per calendar year: mean and the 5-95% band."""
    with matplotlib.rc_context(RC):
        fig = _figure()
        ax = fig.add_subplot()
        flows = valuation.get("cash_flows") or []
        years = [f["year"] for f in flows]
        if years:
            ax.fill_between(years, [f["p5"] for f in flows], [f["p95"] for f in flows], color=BLUE, alpha=0.2,
                            linewidth=0, label="p5-p95")
            ax.plot(years, [f["mean"] for f in flows], color=BLUE, linewidth=2, label="mean")
        end = valuation.get("exclusivity_end")
        if end:
            ax.axvline(int(str(end)[:4]), color=RED, linestyle="--", linewidth=1, label=f"exclusivity end {end}")
        ax.yaxis.set_major_formatter(FuncFormatter(_money))
        ax.set_xlabel("year")
        ax.set_ylabel("IP cash flow, CNY / year")
        ax.set_title("IP cash flows (fan chart)", loc="left", fontsize=10)
        ax.legend(fontsize=8.5, loc="best", frameon=True, framealpha=0.85, edgecolor="none")
    return fig


def score_bars(scores: dict) -> Figure:
    """The three scorecard scores, 0..100, coloured red / amber / green."""
    with matplotlib.rc_context(RC):
        fig = _figure(5.6, 2.0)
        ax = fig.add_subplot()
        keys = [k for k in CARD_LABELS if k in scores][::-1]
        vals = [scores[k]["score"] for k in keys]
        colors = [GREEN if v >= 70 else AMBER if v >= 40 else RED for v in vals]
        bars = ax.barh([CARD_LABELS[k] for k in keys], vals, color=colors, height=0.6)
        for b, v in zip(bars, vals):
            inside = v > 88  # no room right of the bar: white label inside its end
            ax.text(v - 1.5 if inside else v + 1.5, b.get_y() + b.get_height() / 2, f"{v:.0f}", va="center",
                    ha="right" if inside else "left", fontsize=9, color="white" if inside else "black")
        ax.set_xlim(0, 100)
        ax.set_xlabel("score (0-100)")
        ax.set_title("Scorecards", loc="left", fontsize=10)
    return fig


def action_gains(actions: list[dict]) -> Figure | None:
    """Gain in the financeable amount per action (only actions with a positive gain)."""
    rows = [a for a in actions if a["gain"] > 0][:8]
    if not rows:
        return None
    with matplotlib.rc_context(RC):
        fig = _figure(5.6, 0.9 + 0.38 * len(rows))
        ax = fig.add_subplot()
        rows = rows[::-1]
        bars = ax.barh([r["action"] for r in rows], [r["gain"] for r in rows], color=GREEN, height=0.6)
        for b, r in zip(bars, rows):
            ax.text(b.get_width(), b.get_y() + b.get_height() / 2, " +" + _money(r["gain"]), va="center",
                    fontsize=8)
        ax.xaxis.set_major_formatter(FuncFormatter(_money))
        ax.set_xlabel("gain in the amount you can borrow, CNY")
        ax.set_title("What raises the loan", loc="left", fontsize=10)
        ax.margins(x=0.15)
    return fig


def readiness_figures(result: dict) -> dict[str, Figure]:
    """All charts of a readiness result, by name (value, fan, scores and, when any gain, actions)."""
    a = result["assessment"]
    figs = {"value": value_distribution(result["value_histogram"], a["valuation"]),
            "fan": cash_flow_fan(a["valuation"]),
            "scores": score_bars(a["scores"])}
    gains = action_gains(result["actions"])
    if gains is not None:
        figs["actions"] = gains
    return figs


TITLES = {"value": "Distribution of the IP value", "fan": "IP cash-flow fan chart",
          "scores": "Scorecard scores", "actions": "Gain in loan amount per action"}


def readiness_svgs(result: dict) -> dict[str, str]:
    return {k: to_svg(f, TITLES[k]) for k, f in readiness_figures(result).items()}
