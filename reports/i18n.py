"""Languages of the page and the reports: zh (简体中文) and en, with Babel message catalogues.

- Catalogues: ``reports/translations/<lang>/LC_MESSAGES/messages.po`` (source, in the repository) compiled
  to ``.mo`` by ``make translations`` (part of ``make install`` / ``make test``); ``make i18n-update``
  re-extracts the messages of ``api/`` (Python ``_``/``N_`` and the Jinja templates) into
  ``messages.pot`` and merges them into each ``.po``. English is the source language (no catalogue).
- The page: Flask-Babel picks the language from ``?lang=``, then the ``ipledge_lang`` cookie set by
  the switch on the page, then ``Accept-Language`` (:func:`ipledge.api.languages.select_lang`). The CLI
  passes ``--lang``.
- Rendering: one Jinja environment per language (:func:`jinja_env`), with the gettext of that
  catalogue installed (``jinja2.ext.i18n``, new style) and the locale-aware filters of
  :mod:`ipledge.valuation.fmt` bound to the language, so the page (with a Flask request) and the reports
  (from the CLI, without one) render the same templates the same way.
"""
from __future__ import annotations

import functools
from pathlib import Path

import jinja2
from babel.support import NullTranslations, Translations

from ipledge.reports import labels
from ipledge.valuation import fmt

LANGS = fmt.LANGS
DEFAULT_LANG = "en"
COOKIE = "ipledge_lang"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"  # the stylesheet shared by the page and the report
HTML_LANG = {"en": "en", "zh": "zh-CN"}


class CatalogueMissing(RuntimeError):
    """A compiled catalogue is absent (run ``make translations``)."""


def normalise(lang: str | None) -> str | None:
    """'zh', 'zh-CN', 'zh_Hans_CN' -> 'zh'; 'en-GB' -> 'en'; anything else -> None."""
    if not lang:
        return None
    head = str(lang).strip().replace("_", "-").split("-")[0].lower()
    return head if head in LANGS else None


@functools.lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    fmt.locale_of(lang)  # refuses an unknown language
    if lang == DEFAULT_LANG:
        return NullTranslations()
    mo = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo"
    if not mo.is_file():
        raise CatalogueMissing(f"compiled message catalogue {mo} not found: run `make translations` "
                               f"(pybabel compile -d reports/translations)")
    with mo.open("rb") as f:
        return Translations(f, domain="messages")


def gettext(lang: str, message: str, /, **params) -> str:
    text = translations(lang).gettext(message)
    return text % params if params else text


def label(kind: str, code, lang: str) -> str:
    """The reader's name of ``code`` (table ``kind`` of :mod:`ipledge.reports.labels`) in ``lang``; a party's limit
    (``party:<name>`` of the engine's binding constraint and checks) names the party in ``lang``."""
    if kind in ("binding", "limit") and str(code).startswith("party:"):
        msgid = labels.BINDING_PARTY if kind == "binding" else labels.LIMIT_PARTY
        return gettext(lang, msgid, party=label("party", str(code)[6:], lang))
    return translations(lang).gettext(labels.label_msgid(kind, code))


def join(items, lang: str) -> str:
    items = [str(i) for i in items]
    return ("、" if lang == "zh" else ", ").join(items)


@functools.lru_cache(maxsize=None)
def jinja_env(lang: str) -> jinja2.Environment:
    """Templates of ``reports/templates`` rendered in ``lang`` (autoescaped; gettext of the catalogue)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), extensions=["jinja2.ext.i18n"],
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        cny=lambda x: fmt.money(x, lang), pct=lambda x, digits=1: fmt.percent(x, digits, lang),
        num=lambda x, digits=0: fmt.number(x, digits, lang), date=lambda d: fmt.date(d, lang),
        year=lambda y: fmt.year(y, lang), label=lambda code, kind: label(kind, code, lang),
        join_list=lambda items: join(items, lang))
    env.globals.update(lang=lang, html_lang=HTML_LANG[lang], langs=LANGS,
                       colon="：" if lang == "zh" else ": ")  # full-width colon after a Chinese label
    return env
