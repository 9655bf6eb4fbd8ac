"""Terminal rendering of results with rich.

Composable: each function returns rich renderables, :func:`print_scores` only prints them, so a
later ``print_assessment`` can reuse :func:`scores_tables` and add its own sections.
"""
from __future__ import annotations

from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from ipledge.valuation import fmt

CARD_TITLES = {
    "rights_certainty": "Rights certainty (legal value)",
    "competitive_contribution": "Competitive contribution (technical value)",
    "revenue_potential": "Revenue potential (economic value)",
}
MIN_WIDTH_WHEN_PIPED = 140


def format_value(value: Any) -> str:
    """An indicator value as a loan officer reads it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) or "-"
    if isinstance(value, float):
        if abs(value) >= 1e6:
            return fmt.money_axis(value)   # the one formatter (valuation/fmt.py): 800m, 2.5bn
        return f"{value:g}"
    return "-" if value is None else str(value)


def score_style(score: float) -> str:
    return "green" if score >= 70 else "yellow" if score >= 40 else "red"


def card_table(key: str, card: dict) -> Table:
    """One scorecard: a row per indicator, the score in the title."""
    score = card["score"]
    title = Text.assemble((CARD_TITLES.get(key, key), "bold"), "  ",
                          (f"{score:.1f} / 100", f"bold {score_style(score)}"))
    table = Table(title=title, title_justify="left", expand=False, show_lines=False)
    table.add_column("indicator", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold", max_width=28)
    table.add_column("points", justify="right")
    table.add_column("weight", justify="right")
    table.add_column("note", overflow="fold")
    for row in card["indicators"]:
        table.add_row(row["name"], format_value(row["value"]),
                      Text(f"{row['points']:.1f}", style=score_style(row["points"])),
                      f"{row['weight']:g}", row["note"])
    return table


def knockout_lines(knockouts: list[dict]) -> Text:
    """Knock-outs in red, each with the fix the enterprise must make."""
    text = Text()
    for k in knockouts:
        text.append(f"KNOCK-OUT {k['code']}: ", style="bold red")
        text.append(k["message"], style="red")
        text.append("\n    fix: ", style="bold")
        text.append(k["fix"] + "\n")
    return text


def card_renderable(key: str, card: dict) -> RenderableType:
    parts: list[RenderableType] = [card_table(key, card)]
    if card.get("knockouts"):
        parts.append(knockout_lines(card["knockouts"]))
    if "ip_contribution" in card:
        parts.append(Text.assemble(("IP contribution share: ", "bold"), f"{card['ip_contribution']:.3f}"))
    return Group(*parts)


def scores_tables(scores: dict) -> list[RenderableType]:
    """The three scorecards (with knock-outs and IP contribution) and the exclusivity end."""
    out: list[RenderableType] = [card_renderable(k, scores[k]) for k in CARD_TITLES if k in scores]
    end = scores.get("exclusivity_end")
    out.append(Text.assemble(("Exclusivity end: ", "bold"),
                             end if end else Text("none (no granted patent in force)", style="red")))
    out.append(gbt42748_renderable(scores.get("gbt42748")))
    return out


def scores_summary(scores: dict) -> Text:
    """One line: the three scores and the number of knock-outs."""
    n_ko = sum(len(scores[k].get("knockouts", [])) for k in CARD_TITLES if k in scores)
    parts = [f"{CARD_TITLES[k].split(' (')[0]} {scores[k]['score']:.1f}" for k in CARD_TITLES if k in scores]
    text = Text(" | ".join(parts))
    text.append(f" | {n_ko} knock-out{'s' if n_ko != 1 else ''}", style="bold red" if n_ko else "green")
    return text


def request_header(req) -> Text:
    """Two lines: who and what; the patents, the loan and the valuation date."""
    p, n = req.product, len(req.patents)
    return Text.assemble(
        (req.applicant.name, "bold"), f" - {p.name} ({p.modality}, {p.therapeutic_area}, {p.stage})\n",
        f"{n} patent{'s' if n != 1 else ''}; loan {fmt.money(req.loan.amount)} over "
        f"{req.loan.term_years:g} y; as of {req.as_of}")


def make_console() -> Console:
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, MIN_WIDTH_WHEN_PIPED))
    return console


def print_scores(req, scores: dict, console: Console | None = None) -> None:
    console = console or make_console()
    console.print(request_header(req))
    console.print(scores_summary(scores))
    for part in scores_tables(scores):
        console.print()
        console.print(part)


# --- GB/T 42748-2023 crosswalk (``scores.gbt42748``) for `ipledge score` and `ipledge assess` ---
STATUS_STYLE = {"evidenced": "green", "derived": "yellow", "missing": "red"}


def short_source(i: dict) -> str:
    """The scorecard row (or what to add) without the list of request fields: one table cell."""
    src = i["source"]
    if i["status"] == "missing":
        return src.rsplit("; ", 1)[1] if "; add evidence." in src else "-"
    return src.split(" -> ", 1)[1] if " -> " in src and not src.startswith("evidence.") else src


def gbt42748_renderable(block: dict | None) -> RenderableType:
    """The 27 indicators (Chinese and English names, status, value, rating, source) and the coverage line."""
    if not block:
        return Text("")
    c = block["coverage"]
    title = Text.assemble(("GB/T 42748-2023 indicators", "bold"), "  ",
                          (f"{c['evidenced']} evidenced", STATUS_STYLE["evidenced"]), " · ",
                          (f"{c['derived']} derived", STATUS_STYLE["derived"]), " · ",
                          (f"{c['missing']} missing", STATUS_STYLE["missing"]), f" of {c['total']}")
    table = Table(title=title, title_justify="left", expand=False)
    for col, kw in (("code", {"no_wrap": True}), ("指标", {"no_wrap": True}), ("indicator", {"max_width": 30}),
                    ("status", {}), ("value", {"max_width": 24, "overflow": "fold"}),
                    ("rating", {"justify": "right"}), ("rests on / add", {"overflow": "fold"})):
        table.add_column(col, **kw)
    for i in block["indicators"]:
        rating = "-" if i["rating"] is None else f"{i['rating']:.1f}"
        table.add_row(i["code"], i["name_zh"], i["name_en"], Text(i["status"], style=STATUS_STYLE[i["status"]]),
                      format_value(i["value"]), rating, short_source(i))
    return Group(table, Text(block.get("caveat", ""), style="dim"))
