"""The one number formatter: money, percent, dates and years as the CLI, the page and the reports show them.

A leaf module (imports nothing from the project) so every layer may use it; ``ipledge.risk.decision.cny`` /
``pct`` delegate here. Numbers go through Babel (CLDR grouping and decimal signs per locale).

Fixed rules (``lang`` is ``"en"`` or ``"zh"``; anything else is an error):

=========  =============================================  ==============================================
money      en                                             zh
=========  =============================================  ==============================================
≥ 1e9      ``CNY 1.23bn`` (2 decimals)                    ≥ 1e8: ``3.17亿元`` (2 decimals)
≥ 1e6      ``CNY 76.4m`` (1 decimal)                      ≥ 1e7: ``7,636万元`` (0 decimals)
                                                          ≥ 1e4: ``142.3万元`` (1 decimal)
below      ``CNY 178,962`` (whole yuan)                   ``9,500元`` (whole yuan)
=========  =============================================  ==============================================

Each rule keeps three to four significant figures, which is what a credit memo reads; the API keeps
the exact amounts (to the fen). Percent: ``digits`` decimals (default 1) in both languages. Dates:
CLDR "medium" (``Jun 17, 2042`` / ``2042年6月17日``). ``None`` (a figure that does not exist) is ``-``.
"""
from __future__ import annotations

import datetime as dt
import functools
import math

from babel import Locale
from babel.dates import format_date
from babel.numbers import NumberPattern, parse_pattern

LANGS = ("en", "zh")
LOCALES = {"en": "en", "zh": "zh_CN"}  #: CLDR locale of each language
MISSING = "-"


def locale_of(lang: str) -> str:
    try:
        return LOCALES[lang]
    except KeyError:
        raise ValueError(f"language must be one of {', '.join(LANGS)} (got {lang!r})") from None


@functools.lru_cache(maxsize=None)
def _decimal(digits: int, lang: str) -> tuple[NumberPattern, Locale]:
    # what babel.numbers.format_decimal parses on every call; an assessment formats ~150 numbers
    return parse_pattern("#,##0" + ("." + "0" * digits if digits > 0 else "")), Locale.parse(locale_of(lang))


def number(x: float, digits: int = 0, lang: str = "en") -> str:
    """``x`` with ``digits`` decimals and the locale's grouping (``-0`` is shown as ``0``)."""
    pattern, locale = _decimal(int(digits), lang)
    x = float(x)
    if not math.isfinite(x) or abs(x) >= 1e15:
        # beyond Babel's decimal precision (a ratio to a value of ~0): say it in exponent form, never fail
        return MISSING if math.isnan(x) else (f"{x:.3g}" if math.isfinite(x) else ("∞" if x > 0 else "-∞"))
    if round(x, digits) == 0:
        x = 0.0
    return pattern.apply(x, locale)


def money(x: float | None, lang: str = "en") -> str:
    """An amount in CNY by the rules of the module docstring."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    x = float(x)
    a = abs(x)
    if lang == "zh":
        if a >= 1e8:
            return f"{number(x / 1e8, 2, lang)}亿元"
        if a >= 1e7:
            return f"{number(x / 1e4, 0, lang)}万元"
        if a >= 1e4:
            return f"{number(x / 1e4, 1, lang)}万元"
        return f"{number(x, 0, lang)}元"
    locale_of(lang)
    if a >= 1e9:
        return f"CNY {number(x / 1e9, 2, lang)}bn"
    if a >= 1e6:
        return f"CNY {number(x / 1e6, 1, lang)}m"
    return f"CNY {number(x, 0, lang)}"


def money_axis(x: float, lang: str = "en") -> str:
    """A chart tick: the amount in the unit of :func:`money` without the currency (``76m`` / ``7,636万``)."""
    a = abs(x)
    if lang == "zh":
        if a >= 1e8:
            return f"{number(x / 1e8, 1, lang)}亿"
        if a >= 1e4:
            return f"{number(x / 1e4, 0, lang)}万"
        return number(x, 0, lang)
    locale_of(lang)
    if a >= 1e9:
        return f"{number(x / 1e9, 1, lang)}bn"
    if a >= 1e6:
        return f"{number(x / 1e6, 0 if a >= 1e7 else 1, lang)}m"
    if a >= 1e3:
        return f"{number(x / 1e3, 0, lang)}k"
    return number(x, 0, lang)


def percent(x: float | None, digits: int = 1, lang: str = "en") -> str:
    """A share 0..1 as a percentage with ``digits`` decimals (``0.1474`` -> ``14.7%``)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return MISSING
    return number(100.0 * float(x), digits, lang) + "%"


def date(d: dt.date | str | None, lang: str = "en") -> str:
    """A calendar date in the locale's medium form."""
    if d is None or d == "":
        return MISSING
    if isinstance(d, str):
        d = dt.date.fromisoformat(d[:10])
    return format_date(d, format="medium", locale=locale_of(lang))


def year(y: float | int | None, lang: str = "en") -> str:
    """A calendar year, whole (``2032`` / ``2032年``): launch years are shown to the year only."""
    if y is None:
        return MISSING
    locale_of(lang)
    text = str(int(round(float(y))))
    return text + "年" if lang == "zh" else text
