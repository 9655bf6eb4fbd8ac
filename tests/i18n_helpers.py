"""What a reader must never see: code identifiers of the API (issue 14). Shared by test_i18n and test_browser."""
from __future__ import annotations

import re

from ipledge.reports import labels
from ipledge.risk.readiness import BLOCKER_ACTIONS, NO_EFFECT
from ipledge.valuation import schema

#: every code of the API a page or report could show: label-table keys, schema enums, action codes
CODES = frozenset(
    {str(k) for table in labels.TABLES.values() for k in table if k}
    | {str(v) for name in ("STAGES", "THERAPEUTIC_AREAS", "MODALITIES", "PATENT_KINDS", "PATENT_STATUSES",
                           "CLAIM_TYPES", "INVALIDATION", "VBP_EXPOSURE", "SHARING_SCHEMES")
       for v in getattr(schema, name)}
    | set(BLOCKER_ACTIONS) | set(NO_EFFECT)
    | {"approve_with_conditions", "clear_all_blockers", "next_stage", "max_ltv", "expected_loss",
       "risk_supported_max_loan", "measured_on"})
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
CODE_WITH_DIGIT = frozenset(c for c in CODES if re.search(r"[a-z]\d", c))   # phase2, guangzhou_5311


def _gbt_english_names() -> tuple[str, ...]:
    from ipledge.valuation import gbt42748

    return tuple(sorted({r.name_en for r in gbt42748.rules()}, key=len, reverse=True))


#: the English names of the GB/T 42748 indicators, shown beside the Chinese ones on purpose (issue 18:
#: both names side by side, the English one marked lang="en"); only these whole phrases are exempt
GBT_ENGLISH_NAMES = _gbt_english_names()


def code_identifiers(text: str, lang: str) -> list[str]:
    """Code identifiers in ``text``: snake_case words and coded names (phase2) in any language; in
    Chinese also every single-word code (decline, oncology, bullet, ...), since no English word belongs there
    (except inside the GB/T 42748 indicators' English names, :data:`GBT_ENGLISH_NAMES`)."""
    if lang == "zh":
        text = re.sub(r"\s+", " ", text)   # a PDF's text breaks a name across lines
        for name in GBT_ENGLISH_NAMES:
            text = text.replace(name, " ")
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_]*", text))
    found = {w for w in words if SNAKE.fullmatch(w)} | (words & CODE_WITH_DIGIT)
    if lang == "zh":
        found |= words & CODES
    return sorted(found)


def svg_texts(html: str) -> str:
    """The text of the charts' <text> elements (matplotlib keeps labels as text in the page's SVG)."""
    import html as html_lib

    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", t))
                    for t in re.findall(r"(?s)<text\b[^>]*>(.*?)</text>", html))
