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
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from ipledge.reports import i18n, narrative  # noqa: E402
from ipledge.reports.labels import CARDS_SHORT, N_  # noqa: E402
from ipledge.valuation import fmt  # noqa: E402

CARD_KEYS = tuple(CARDS_SHORT)
BLUE, GREY, RED, GREEN, AMBER = "#1f5f8b", "#8a97a3", "#b3261e", "#2e7d32", "#b26a00"
CJK_FAMILY = "Noto Sans CJK SC"   # Debian fonts-noto-cjk; drawn where DejaVu has no glyph (zh labels)
RC = {"svg.fonttype": "none", "font.size": 10, "axes.spines.top": False, "axes.spines.right": False,
      "font.family": ["DejaVu Sans", CJK_FAMILY]}


class GlyphMissing(RuntimeError):
    """A chart label has a character no configured font can draw."""


def _rc(vector_text: bool = True) -> dict:
    """Matplotlib settings; ``vector_text=False`` draws glyphs as paths (the PDF needs no font for them)."""
    return {**RC, "svg.fonttype": "none" if vector_text else "path"}


def _ensure_cjk_font() -> None:
    """Register the CJK font with matplotlib when its font cache predates the font's installation."""
    from matplotlib import font_manager

    if any(f.name == CJK_FAMILY for f in font_manager.fontManager.ttflist):
        return
    from ipledge.reports.fonts import font_file

    path = font_file(CJK_FAMILY)
    if path:
        font_manager.fontManager.addfont(path)


def _money(x: float, _pos=None, lang: str = "en") -> str:
    return fmt.money_axis(x, lang)


def _t(lang: str, msgid: str, /, **params) -> str:
    return i18n.gettext(lang, msgid, **params)


def _figure(w: float = 5.6, h: float = 3.1) -> Figure:
    with matplotlib.rc_context(RC):
        return Figure(figsize=(w, h), layout="constrained")


def _save(fig: Figure, buf, fmt_: str, rc: dict, strict: bool = True, **kw) -> None:
    """Save; when ``strict`` (glyphs drawn here: PNG, SVG paths for the PDF) matplotlib's missing-glyph
    warning is an error, since a label must never lose a character. SVG text is drawn by the browser
    with its own fonts, so there a missing server font only costs layout accuracy."""
    import warnings

    with matplotlib.rc_context(rc), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.savefig(buf, format=fmt_, **kw)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    if missing and strict:
        raise GlyphMissing(f"chart text cannot be drawn: {missing[0]} (install Debian fonts-noto-cjk)")


def to_svg(fig: Figure, title: str, *, vector_text: bool = True) -> str:
    """The figure as an inline <svg> element with a <title> (accessible name), no XML prologue."""
    from markupsafe import escape

    buf = io.StringIO()
    _save(fig, buf, "svg", _rc(vector_text), strict=not vector_text)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r'(<svg[^>]*?)\swidth="[^"]*"\sheight="[^"]*"', r'\1', svg, count=1)  # scale with CSS
    title = str(escape(title))
    svg = svg.replace(">", f' role="img" aria-label="{title}"><title>{title}</title>', 1)
    return svg


def to_png(fig: Figure, dpi: int = 150) -> bytes:
    buf = io.BytesIO()
    _save(fig, buf, "png", _rc(), dpi=dpi)
    return buf.getvalue()


def value_distribution(hist: dict, valuation: dict, lang: str = "en") -> Figure:
    """Histogram of the simulated IP value today (positive paths), with p5/p50/p95 and the mean."""
    with matplotlib.rc_context(RC):
        fig = _figure()
        ax = fig.add_subplot()
        edges, counts, n = hist["edges"], hist["counts"], max(hist["paths"], 1)
        if len(edges) > 1 and sum(counts) > 0:
            widths = [b - a for a, b in zip(edges[:-1], edges[1:])]
            ax.bar(edges[:-1], [c / n for c in counts], width=widths, align="edge", color=BLUE, alpha=0.75,
                   edgecolor="white", linewidth=0.4, label=_t(lang, "share of paths"))
        marks = [("p5", valuation["p5"], GREY, ":"), ("p50", valuation["p50"], GREY, "--"),
                 (_t(lang, "mean (appraised)"), valuation["appraised_value"], RED, "-"),
                 ("p95", valuation["p95"], GREY, ":")]
        for label, x, color, style in marks:
            if x > 0:
                ax.axvline(x, color=color, linestyle=style, linewidth=1.2, label=f"{label} {fmt.money(x, lang)}")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: _money(x, lang=lang)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _p: fmt.percent(y, 1, lang)))
        ax.set_xlabel(_t(lang, "IP value today, CNY (paths with value > 0)"))
        ax.set_ylabel(_t(lang, "share of paths"))
        ax.set_title(_t(lang, "Distribution of the IP value: %(share)s of paths worth 0",
                        share=fmt.percent(valuation["prob_zero"], 0, lang)), loc="left", fontsize=10)
        ax.legend(fontsize=8.5, loc="best", frameon=True, framealpha=0.85, edgecolor="none")
    return fig


def cash_flow_fan(valuation: dict, lang: str = "en") -> Figure:
    """IP cash flow per calendar year: mean and the 5-95% band."""
    with matplotlib.rc_context(RC):
        fig = _figure()
        ax = fig.add_subplot()
        flows = valuation.get("cash_flows") or []
        years = [f["year"] for f in flows]
        if years:
            ax.fill_between(years, [f["p5"] for f in flows], [f["p95"] for f in flows], color=BLUE, alpha=0.2,
                            linewidth=0, label="p5–p95")
            ax.plot(years, [f["mean"] for f in flows], color=BLUE, linewidth=2, label=_t(lang, "mean"))
        end = valuation.get("exclusivity_end")
        if end:
            ax.axvline(int(str(end)[:4]), color=RED, linestyle="--", linewidth=1,
                       label=_t(lang, "exclusivity end %(date)s", date=fmt.date(str(end), lang)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda x, _p: _money(x, lang=lang)))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # calendar years: no 2027.5
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: f"{x:.0f}"))
        ax.set_xlabel(_t(lang, "year"))
        ax.set_ylabel(_t(lang, "IP cash flow, CNY / year"))
        ax.set_title(_t(lang, "IP cash flows (fan chart)"), loc="left", fontsize=10)
        ax.legend(fontsize=8.5, loc="best", frameon=True, framealpha=0.85, edgecolor="none")
    return fig


def score_bars(scores: dict, lang: str = "en") -> Figure:
    """The three scorecard scores, 0..100, coloured red / amber / green."""
    with matplotlib.rc_context(RC):
        fig = _figure(5.6, 2.0)
        ax = fig.add_subplot()
        keys = [k for k in CARD_KEYS if k in scores][::-1]
        vals = [scores[k]["score"] for k in keys]
        colors = [GREEN if v >= 70 else AMBER if v >= 40 else RED for v in vals]
        bars = ax.barh([i18n.label("card_short", k, lang) for k in keys], vals, color=colors, height=0.6)
        for b, v in zip(bars, vals):
            inside = v > 88  # no room right of the bar: white label inside its end
            ax.text(v - 1.5 if inside else v + 1.5, b.get_y() + b.get_height() / 2, f"{v:.0f}", va="center",
                    ha="right" if inside else "left", fontsize=9, color="white" if inside else "black")
        ax.set_xlim(0, 100)
        ax.set_xlabel(_t(lang, "score (0-100)"))
        ax.set_title(_t(lang, "Scorecards"), loc="left", fontsize=10)
    return fig


def _wrap(label: str, lang: str) -> str:
    """A long action title on two or three lines, so the bars keep their width on a phone."""
    import textwrap

    if lang == "zh":
        return "\n".join(label[i:i + 14] for i in range(0, len(label), 14))
    return textwrap.fill(label, 26)


def action_gains(actions: list[dict], lang: str = "en") -> Figure | None:
    """Gain in the financeable amount per action (only actions with a positive gain)."""
    rows = [a for a in actions if a["gain"] > 0][:8]
    if not rows:
        return None
    labels = [_wrap(narrative.action_title(r, lang), lang) for r in rows[::-1]]
    lines = sum(t.count("\n") + 1 for t in labels)   # a wrapped title needs the height of its lines
    with matplotlib.rc_context(RC):
        fig = _figure(5.6, 0.9 + 0.2 * len(rows) + 0.17 * lines)
        ax = fig.add_subplot()
        rows = rows[::-1]
        bars = ax.barh(labels, [r["gain"] for r in rows],
                       color=GREEN, height=0.6)
        for b, r in zip(bars, rows):
            ax.text(b.get_width(), b.get_y() + b.get_height() / 2, " +" + fmt.money(r["gain"], lang), va="center",
                    fontsize=8)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _p: _money(x, lang=lang)))
        ax.set_xlabel(_t(lang, "gain in the amount you can borrow, CNY"))
        ax.set_title(_t(lang, "What raises the loan"), loc="left", fontsize=10)
        ax.margins(x=0.15)
    return fig


def readiness_figures(result: dict, lang: str = "en") -> dict[str, Figure]:
    """All charts of a readiness result, by name (value, fan, scores and, when any gain, actions)."""
    if lang != "en":
        _ensure_cjk_font()
    a = result["assessment"]
    figs = {"value": value_distribution(result["value_histogram"], a["valuation"], lang),
            "fan": cash_flow_fan(a["valuation"], lang),
            "scores": score_bars(a["scores"], lang)}
    gains = action_gains(result["actions"], lang)
    if gains is not None:
        figs["actions"] = gains
    return figs


TITLES = {"value": N_("Distribution of the IP value"), "fan": N_("IP cash-flow fan chart"),
          "scores": N_("Scorecard scores"), "actions": N_("Gain in loan amount per action")}


def readiness_svgs(result: dict, lang: str = "en", *, vector_text: bool = True) -> dict[str, str]:
    """Inline SVG of every chart; ``vector_text=False`` (the PDF) draws the labels as paths."""
    return {k: to_svg(f, _t(lang, TITLES[k]), vector_text=vector_text)
            for k, f in readiness_figures(result, lang).items()}
