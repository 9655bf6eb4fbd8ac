"""ipledge: IP asset valuation and pledge-financing decision engine.

One installed namespace; each subpackage is a folder of the repository (``setup.cfg``'s ``package_dir``):

- :mod:`ipledge.valuation` — the three scorecards of the pledged IP and the request schema (imports nothing of ours);
- :mod:`ipledge.scenarios` — stress scenarios, example pledges and books (data and their loader);
- :mod:`ipledge.risk` — the pipeline posterior, the Monte Carlo, credit, LTV and the decision (→ valuation, scenarios);
- :mod:`ipledge.reports` — the HTML/PDF reports, charts, labels and languages (→ risk, valuation, scenarios);
- :mod:`ipledge.api` — HTTP: app factory, routes, storage and serving (→ reports, risk, valuation, scenarios);
- :mod:`ipledge.cli` — the ``ipledge`` command line (→ api, reports, risk, valuation, scenarios).

``tests/test_layering.py`` fails on an import cycle or on a lower room importing a higher one.
"""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ipledge")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
