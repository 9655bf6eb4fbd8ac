"""Terminal table of the GB/T 42748-2023 crosswalk (``scores.gbt42748``) for `ipledge score` and `ipledge assess`."""
from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from api.render import format_value

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
