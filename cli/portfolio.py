"""`ipledge portfolio BOOK`: loss distribution of a book of pledges with common factors."""
from __future__ import annotations

import click

from ipledge.cli.common import emit_json, user_errors
from ipledge.cli.progress import progress_bar, quiet_option


def _m(x: float) -> str:
    return f"{x / 1e6:,.2f}"


def print_portfolio(res: dict, top: int = 10) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    f = res["factors"]
    head = Table(title=f"Book of {res['n_loans']} pledges — {res['paths']} paths, seed {res['seed']}, "
                       f"engine {res['engine']} ({res['wall_seconds']:.1f} s)")
    head.add_column("measure")
    head.add_column("CNY m", justify="right")
    head.add_column("% of exposure", justify="right")
    for name, key in (("exposure", "exposure"), ("expected loss", "expected_loss"), ("VaR 99%", "var_99"),
                      ("ES 99%", "es_99")):
        head.add_row(name, _m(res[key]), f"{100 * res[key] / res['exposure']:.2f}%")
    console.print(head)
    console.print(f"factors: {'on' if f['on'] else 'off'} (funding ρ={f['funding']:.2f}, VBP ρ={f['vbp']:.2f}, "
                  f"rate σ={100 * f['rate_sd']:.1f} pp); expected defaults {res['expected_defaults']:.1f}; "
                  f"MC std error of EL CNY {_m(res['mc_std_error_el'])}m")
    areas = Table(title="Concentration by therapeutic area")
    for c in ("area", "loans", "exposure", "EL", "ES contribution", "ES share"):
        areas.add_column(c, justify="left" if c == "area" else "right")
    for a in res["concentration"]["by_therapeutic_area"]:
        areas.add_row(a["therapeutic_area"], str(a["n_loans"]), _m(a["exposure"]), _m(a["expected_loss"]),
                      _m(a["es_contribution"]), f"{100 * a['es_share']:.1f}%")
    console.print(areas)
    loans = Table(title=f"Largest contributions to ES 99% (top {top})")
    for c in ("#", "applicant", "area", "amount", "PD", "EL", "ES contribution"):
        loans.add_column(c, justify="right" if c not in ("applicant", "area") else "left")
    for ln in sorted(res["loans"], key=lambda x: -x["es_contribution"])[:top]:
        loans.add_row(str(ln["index"]), ln["applicant"], ln["therapeutic_area"], _m(ln["amount"]),
                      f"{100 * ln['pd']:.1f}%", _m(ln["expected_loss"]), _m(ln["es_contribution"]))
    console.print(loans)


@click.command()
@click.argument("book", type=click.Path(dir_okay=False))
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True)
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="dask scheduler address (default: a 2-worker LocalCluster).")
@click.option("--workers", type=click.IntRange(1, 256), default=2, show_default=True,
              help="Workers of the LocalCluster when no --scheduler is given.")
@click.option("--paths", type=click.IntRange(1000, 1_000_000), default=None, help="Override the book's paths.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help="Override the book's seed.")
@click.option("--factors", type=click.Choice(["book", "on", "off"]), default="book", show_default=True,
              help="Common factors as in the book, or force on/off.")
@click.option("--json", "as_json", is_flag=True, help="Print the portfolio result as JSON.")
@quiet_option
@user_errors
def portfolio(book: str, engine: str, scheduler: str | None, workers: int, paths: int | None, seed: int | None,
              factors: str, as_json: bool, quiet: bool) -> None:
    """Simulate the book of pledges in BOOK (YAML or JSON): EL, VaR 99%, ES 99%, contributions."""
    from ipledge.risk.portfolio import FactorModel, load_book, run_portfolio

    b = load_book(book)
    if paths is not None:
        b.paths, b.chunk_paths = paths, min(b.chunk_paths, paths)
    if seed is not None:
        b.seed = seed
    if factors != "book":
        b.factors = FactorModel.parse(factors)
    if scheduler and engine != "dask":
        raise click.UsageError("--scheduler needs --engine dask")
    with progress_bar("portfolio", quiet, as_json) as progress:
        res = run_portfolio(b, engine=engine, scheduler=scheduler, workers=workers, progress=progress)
    if as_json:
        emit_json(res)
    else:
        print_portfolio(res)
