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
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if not (_HERE / "risk").is_dir() and (_HERE.parent / "setup.cfg").is_file() \
        and (_HERE.parent / "risk" / "__init__.py").is_file():
    # A source checkout (the repository, or a copy of it such as the fault harness's): the rooms are this
    # folder's siblings, and they are found from here, so a copy imports its own files and not those the
    # editable install points to. Installed, the rooms are inside this folder and nothing is added.
    __path__.append(str(_HERE.parent))  # noqa: F821  (the package's own __path__)

try:
    __version__ = version("ipledge")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0+unknown"
