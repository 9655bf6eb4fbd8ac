"""`ipledge report CASE -o report.html|report.pdf`: the financing-readiness report of a case.

CASE is a case file (YAML or JSON) or the name of a bundled example (``scenarios/cases``). The output
format follows the suffix of ``-o``: ``.html`` (self-contained: inline CSS and SVG charts, indicator
tables, methodology) or ``.pdf`` (the same template laid out by WeasyPrint). ``--lang zh|en`` picks
the language. A bad case, option or suffix, or a character no installed font can draw in the PDF,
prints one line on stderr and exits 2.
"""
from __future__ import annotations

from pathlib import Path

import click

from ipledge.cli.common import fail, user_errors
from ipledge.cli.progress import progress_bar, quiet_option

FORMATS = (".html", ".htm", ".pdf")


@click.command()
@click.argument("case")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write the report; .html or .pdf.")
@click.option("--paths", type=int, default=None, help="Override simulation.paths of the case (1000..200000).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="en", show_default=True,
              help="Language of the report (简体中文 or English).")
@click.option("--ltv-basis", type=click.Choice(["inputs", "scenarios"]), default="inputs", show_default=True,
              help="LTV range over perturbed inputs or over the built-in stress scenarios.")
@quiet_option
@user_errors
def report(case: str, output: str, paths: int | None, lang: str, ltv_basis: str, quiet: bool) -> None:
    """Write the financing-readiness report of CASE (a case file or a bundled case name)."""
    from ipledge.reports.report import report_html, report_pdf, resolve_case
    from ipledge.risk.posterior import load_posterior
    from ipledge.risk.readiness import readiness
    from ipledge.valuation import fmt

    out = Path(output)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        fail(f"{output}: the report is written as .html or .pdf (got '{out.suffix or 'no suffix'}')")
    req = resolve_case(case)
    if paths is not None:
        req = type(req).model_validate({**req.model_dump(mode="json"),
                                        "simulation": {**req.simulation.model_dump(), "paths": paths}})
    try:
        posterior = load_posterior()
    except (OSError, KeyError) as e:
        fail(f"pipeline posterior not available ({e}); run `ipledge model fit` or set IPLEDGE_POSTERIOR")
    with progress_bar("report (engine runs)", quiet) as progress:
        result = readiness(req, posterior, ltv_basis=ltv_basis, progress=progress)
    if suffix == ".pdf":
        data = report_pdf(result, req, lang)   # a GlyphError (a ValueError) is one line and exit 2
        out.write_bytes(data)
    else:
        out.write_text(report_html(result, req, lang), encoding="utf-8")
    rec = result["assessment"]["recommendation"]
    click.echo(f"{out}: readiness {result['readiness_score']:.0f}/100, {rec['decision']}, "
               f"max loan {fmt.money(rec['max_loan'])}, {len(result['blockers'])} blocker(s), "
               f"{len(result['actions'])} action(s)", err=True)
