"""ipledge: api (Flask app factory, /v1 routes, storage, CLI)."""


def create_app(config=None):
    """Build the Flask app (see :mod:`ipledge.api.app`)."""
    from ipledge.api.app import create_app as _create_app

    return _create_app(config)
