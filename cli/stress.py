"""`ipledge stress CASE`: the base assessment and each stress scenario, on the same seed."""
from __future__ import annotations

import click

from ipledge.cli.common import emit_json, read_request, user_errors
from ipledge.cli.progress import progress_bar, quiet_option

JSON_KEYS = ("scenario", "appraised_value", "pd", "expected_loss_rate", "ltv", "decision")


def _m(x: float) -> str:
    return f"{x / 1e6:,.1f}"


def _signed(x: float, fmt: str) -> str:
    if x is None or abs(x) < 1e-12:
        return "·"
    return ("+" if x > 0 else "") + format(x, fmt)


def print_stress(req, rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    base = rows[0]
    t = Table(title=f"Stress: {req.applicant.name} — {req.product.name} (loan CNY {_m(req.loan.amount)}m, "
                    f"{base['paths']} paths, seed {base['seed']}, same seed in every row)")
    for name in ("scenario", "value CNY m", "Δ", "PD", "Δ pp", "EL rate", "Δ pp", "LTV", "Δ pp", "decision"):
        t.add_column(name, no_wrap=True, justify="left" if name in ("scenario", "decision") else "right")
    for r in rows:
        c = r["change"]
        style = "bold" if r["scenario"] == "base" else None
        t.add_row(r["scenario"], _m(r["appraised_value"]), _signed(c["appraised_value"] / 1e6, ",.1f"),
                  f"{100 * r['pd']:.1f}%", _signed(100 * c["pd"], ".1f"),
                  f"{100 * r['expected_loss_rate']:.2f}%", _signed(100 * c["expected_loss_rate"], ".2f"),
                  f"{100 * r['ltv']:.1f}%", _signed(100 * c["ltv"], ".1f"),
                  r["decision"] + ("" if r["decision"] == base["decision"] or r is base else " *"),
                  style=style)
    console = Console()
    console.width = max(console.width, 124)  # one row per scenario, even on an 80-column terminal
    console.print(t)
    console.print("PD and EL rate at the requested amount; LTV = max loan / appraised value; "
                  "* decision differs from base.")


@click.command()
@click.argument("case", type=click.Path(dir_okay=False))
@click.option("--scenario", "scenarios", multiple=True, metavar="NAME",
              help="A built-in scenario name or a scenario YAML file (repeatable). Default: all built-ins.")
@click.option("--all", "all_", is_flag=True, help="Every built-in scenario.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a list of rows {scenario, appraised_value, pd, expected_loss_rate, ltv, decision, ...}; "
                   "the first row is base.")
@click.option("--paths", type=click.IntRange(1000, 200_000), default=None, help="Paths (default: the case's).")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None, help="Seed (default: the case's).")
@quiet_option
@user_errors
def stress(case: str, scenarios: tuple[str, ...], all_: bool, as_json: bool, paths: int | None,
           seed: int | None, quiet: bool) -> None:
    """Run CASE under stress scenarios and compare with the base (common random numbers)."""
    from ipledge.risk.stress import resolve_names, stress_rows

    req = read_request(case)
    names = resolve_names(list(scenarios), all_)  # unknown name: one line, exit 2, before any simulation
    with progress_bar("stress", quiet, as_json) as progress:
        rows = stress_rows(req, names, paths=paths, seed=seed, progress=progress)
    if as_json:
        emit_json(rows)
    else:
        print_stress(req, rows)
