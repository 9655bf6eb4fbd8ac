"""GB/T 42748-2023 coverage in the PDF report (fpdf2), Chinese and English names side by side.

The Chinese names need a CJK font: Noto Sans CJK SC from Debian's ``fonts-noto-cjk`` (installed by
``.ci/run``), registered as a fallback so Latin text keeps the report's font. Without one the Chinese
column cannot be drawn; the section then says so in the PDF instead of leaving a silent gap.
"""
from __future__ import annotations

import os

from api.render import format_value
from valuation.gbt42748 import CARD_EN, STATUS_ZH

# (path, index in the collection): NotoSansCJK-Regular.ttc holds JP, KR, SC, TC, HK in that order
CJK_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
)
CJK_FAMILY = "GbtCJK"


def _rests_on(i: dict, zh: bool) -> str:
    if i["status"] == "missing":
        return ("可补充证据 " if zh else "") + "evidence can be added"
    card = CARD_EN.get(i["scorecard"], i["scorecard"])
    return f"{card} · {i['row']}"


def cjk_font() -> tuple[str, int] | None:
    env = os.environ.get("IPLEDGE_CJK_FONT")
    if env and os.path.isfile(env):
        return env, 0
    return next(((p, i) for p, i in CJK_FONTS if os.path.isfile(p)), None)


def pdf_gbt42748(pdf, h2, table, block: dict | None) -> None:
    """Draw the coverage line and the 27-row table with the report's ``h2`` and ``table`` helpers."""
    if not block:
        return
    font = cjk_font()
    if font is not None:
        if CJK_FAMILY.lower() not in pdf.fonts:
            pdf.add_font(CJK_FAMILY, "", font[0], collection_font_number=font[1])
            pdf.add_font(CJK_FAMILY, "B", font[0], collection_font_number=font[1])
        pdf.set_fallback_fonts([CJK_FAMILY], exact_match=False)
    c = block["coverage"]
    h2(f"GB/T 42748-2023 指标覆盖 / indicator coverage: {c['evidenced']} evidenced 有证据, "
       f"{c['derived']} derived 推导, {c['missing']} missing 缺失 of {c['total']}"
       if font else f"GB/T 42748-2023 indicator coverage: {c['evidenced']} evidenced, {c['derived']} derived, "
                    f"{c['missing']} missing of {c['total']}")
    rows = []
    for i in block["indicators"]:
        status = f"{STATUS_ZH[i['status']]} {i['status']}" if font else i["status"]
        rows.append([i["code"], i["name_zh"] if font else "(CJK font missing)", i["name_en"], status,
                     "-" if i["value"] is None else format_value(i["value"]),
                     "-" if i["rating"] is None else f"{i['rating']:.1f}", _rests_on(i, bool(font))])
    table(["code", "指标" if font else "zh", "indicator", "status", "value", "rating", "rests on"], rows,
          (10, 24, 32, 18, 22, 12, 62))
    pdf.set_font(pdf.font_family, "", 7.5)
    pdf.multi_cell(pdf.epw, 4, (block.get("caveat_zh", "") + " " if font else "") + block.get("caveat", ""),
                   new_x="LMARGIN", new_y="NEXT")
