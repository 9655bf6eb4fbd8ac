"""The page's language in a Flask request: Flask-Babel with the catalogues of :mod:`ipledge.reports.i18n`."""
from __future__ import annotations

from ipledge.reports.i18n import COOKIE, DEFAULT_LANG, TRANSLATIONS, normalise


def select_lang() -> str:
    """?lang=, then the page's cookie, then Accept-Language, else English."""
    from flask import request

    for candidate in (request.args.get("lang"), request.cookies.get(COOKIE)):
        lang = normalise(candidate)
        if lang:
            return lang
    best = request.accept_languages.best_match(["zh", "zh-CN", "zh-Hans", "en"], default=DEFAULT_LANG)
    return normalise(best) or DEFAULT_LANG


def init_babel(app) -> None:
    """Flask-Babel on ``app`` with :func:`select_lang` and the catalogues of ``reports/translations``."""
    from flask_babel import Babel

    if "babel" not in app.extensions:
        Babel(app, locale_selector=select_lang, default_translation_directories=str(TRANSLATIONS))


def current_lang() -> str:
    """The language of the current request (Flask-Babel's negotiated locale)."""
    from flask_babel import get_locale

    return normalise(str(get_locale())) or DEFAULT_LANG
