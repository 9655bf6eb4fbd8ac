"""Bearer API keys. A key belongs to one tenant (institution); only its SHA-256 is stored.

Authentication runs as an app-level ``before_request`` registered before the rate limiter, so the
limiter can count per tenant. Failed authentications are counted per client address and an address
past ``IPLEDGE_AUTH_FAIL_LIMIT`` gets 429 before its key is even looked at. Views mark themselves public through :func:`ipledge.api.openapi.operation`
(``auth=False``); every other /v1 view needs a valid, unrevoked key (401 otherwise).
"""
from __future__ import annotations

from flask import Flask, current_app, g, request

from ipledge.api.endpoints import is_public_endpoint
from ipledge.api.problems import Problem
from ipledge.api.store import Principal

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="ipledge"'}


def _is_public() -> bool:
    return is_public_endpoint()


def _refuse(detail: str):
    from ipledge.api.limits import record_auth_failure

    record_auth_failure()  # failed authentications are limited per client address
    return Problem(401, "unauthorized", detail, title="Authentication required", headers=CHALLENGE)


def authenticate() -> None:
    from ipledge.api.limits import check_auth_failures

    g.principal = None
    if _is_public():
        return
    check_auth_failures()  # an address that keeps guessing is refused before any key is looked at
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise _refuse("send `Authorization: Bearer <API key>`")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse("the Authorization header must be `Bearer <API key>`")
    principal = current_app.extensions["ipledge_store"].authenticate(token.strip())
    if principal is None:
        raise _refuse("unknown or revoked API key")
    g.principal = principal


def current_principal() -> Principal:
    p = g.get("principal")
    if p is None:  # a view that needs a tenant was declared public by mistake
        raise Problem(401, "unauthorized", "authentication required", headers=CHALLENGE)
    return p


def init_auth(app: Flask) -> None:
    app.before_request(authenticate)
