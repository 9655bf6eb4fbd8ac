"""`ipledge calibrate`: fit the financing odds to the IP-loan default band (risk/calibrate.py)."""
from __future__ import annotations

import click

from ipledge.cli.common import emit_json, user_errors
from ipledge.cli.progress import progress_bar, quiet_option

JSON_KEYS = ("book", "parameters", "annual_default_rate", "target")


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print {book, parameters, annual_default_rate: {base, funding_winter}, target}.")
@click.option("--book", default="korea_ip_book", show_default=True,
              help="Calibration book: a name in scenarios/books or a YAML path.")
@click.option("--seed", type=int, default=None, help="Seed (default: the book's).")
@click.option("--from-book", "tenant", default=None, metavar="TENANT",
              help="Update the target band with this institution's recorded defaults (Beta-binomial on "
                   "its loan-years; methodology §12).")
@click.option("--database-url", envvar="DATABASE_URL", default=None,
              help="With --from-book: SQLAlchemy URL (default: $DATABASE_URL, $IPLEDGE_DB or ./instance/ipledge.db).")
@quiet_option
@user_errors
def calibrate(as_json: bool, book: str, seed: int | None, tenant: str | None, database_url: str | None,
              quiet: bool) -> None:
    """Fit q_base so the book's simulated annual default rate lands in the target band."""
    from ipledge.risk.calibrate import calibrate as fit
    from ipledge.risk.calibrate import target_from_book

    update = None
    if tenant is not None:
        from ipledge.cli.db import open_store
        from ipledge.api.service_loans import book_default_evidence

        store = open_store(database_url)
        evidence = book_default_evidence(store, tenant)
        target = target_from_book(evidence)
        update = target.pop("book_update")
    else:
        target = None
    with progress_bar("calibrate", quiet, as_json) as progress:
        r = fit(book, seed, observed=target, progress=progress)
    if as_json:
        emit_json({**{k: r[k] for k in JSON_KEYS}, **({"book_update": update} if update else {})})
        return
    if update:
        click.echo(f"{tenant}: {update['defaults']:g} defaults in {update['loan_years']:.1f} loan-years; prior "
                   f"{100 * update['prior_mean']:.2f}% worth {update['prior_loan_years']:.0f} loan-years; data weight "
                   f"{100 * update['data_weight']:.0f}%; target mean {100 * update['posterior_mean']:.2f}% a year")
    lo, hi = r["target"]["base"]
    click.echo(f"book {r['book']} (seed {r['seed']}, {r['paths_per_segment']:,} paths per segment)")
    click.echo(f"fitted q_base = {r['parameters']['q_base']:.4f} (q_after_success {r['parameters']['q_after_success']}, "
               f"q_after_failure {r['parameters']['q_after_failure']} kept)")
    click.echo(f"annual default rate: base {100 * r['annual_default_rate']['base']:.2f}% (target {100 * lo:.2f}-"
               f"{100 * hi:.2f}%), funding_winter {100 * r['annual_default_rate']['funding_winter']:.2f}% "
               f"(target >= {100 * r['target']['funding_winter_min']:.2f}%): "
               + ("in band" if r["in_band"] else "OUT OF BAND"))
    for s in r["segments"]:
        click.echo(f"  {s['name']:24s} weight {s['weight']:.2f}  base {100 * s['base']:6.2f}%  "
                   f"funding_winter {100 * s['funding_winter']:6.2f}%")
