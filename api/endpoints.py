"""Which endpoints are public: no key needed and no rate budget spent (read by auth and limits alike)."""
from __future__ import annotations

from flask import current_app, request

STATIC_ENDPOINTS = ("static", "page.static")  # the app's assets and the page's stylesheet (ipledge.reports)


def is_public_endpoint() -> bool:
    """Unknown routes (404 follows), views marked public (:func:`ipledge.api.openapi.operation`), static files."""
    view = current_app.view_functions.get(request.endpoint or "")
    return view is None or getattr(view, "_ipledge_public", False) or request.endpoint in STATIC_ENDPOINTS
