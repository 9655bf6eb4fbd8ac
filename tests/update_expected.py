"""Rewrite the golden outputs in tests/expected/ and print every number that moved.

    python -m tests.update_expected                      # every case x {base, each stress scenario}
    python -m tests.update_expected --case tcm_formulation --scenario base --scenario adverse
    python -m tests.update_expected --check              # write nothing; exit 1 if anything would move

Run from the repository root (``tests`` is imported as a namespace package, as pytest does). A value
that differs from the stored one only within its tolerance (tests/expected/tolerances.yaml) keeps the
stored digits, so the commit shows the numbers that really moved and nothing else (``--exact`` rewrites
every digit). A full run (no ``--case`` / ``--scenario``) also deletes golden files whose case or
scenario no longer exists. Read the printed table before committing: every row is a number the model
now gives differently.
"""
from __future__ import annotations

import sys

import click

from tests import expected_helpers as gh


def _plan(case: str, scenario: str, tolerances, exact: bool) -> tuple[dict, dict | None, list[gh.Row]]:
    """(document to write, stored document or None, rows of the moved fields)."""
    new = gh.fresh(case, scenario)
    path = gh.golden_path(case, scenario)
    if not path.exists():
        return new, None, []
    old = gh.read(path)
    rows = gh.compare(case, scenario, old.get("fields", {}), new["fields"], tolerances)
    moved = {r.field for r in rows}
    if not exact:
        # inside the tolerance: keep the stored digits (platform noise is not a change to review)
        kept = {f: v for f, v in old.get("fields", {}).items() if f in new["fields"] and f not in moved}
        new["fields"].update(gh.normalise(kept))
    return new, old, rows


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--case", "cases", multiple=True, metavar="NAME", help="Only this case (repeatable).")
@click.option("--scenario", "scenarios_", multiple=True, metavar="NAME",
              help="Only this scenario: 'base' or a built-in stress scenario (repeatable).")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if any file would change.")
@click.option("--exact", is_flag=True, help="Rewrite every digit, also those within tolerance.")
def main(cases: tuple[str, ...], scenarios_: tuple[str, ...], check: bool, exact: bool) -> None:
    """Rewrite tests/expected/<case>__<scenario>.json from fresh runs and print every moved number."""
    all_cases, all_scenarios = gh.case_names(), gh.scenario_names()
    for given, known, what in ((cases, all_cases, "case"), (scenarios_, all_scenarios, "scenario")):
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise click.BadParameter(f"unknown {what} {', '.join(unknown)}; known: {', '.join(known)}",
                                     param_hint=f"--{what}")
    chosen_cases = [c for c in all_cases if not cases or c in cases]
    chosen_scen = [s for s in all_scenarios if not scenarios_ or s in scenarios_]
    tolerances = gh.load_tolerances()
    gh.EXPECTED_DIR.mkdir(parents=True, exist_ok=True)

    moved: list[gh.Row] = []
    added, rewritten, removed = [], [], []
    untolerated: set[str] = set()
    for case in chosen_cases:
        for scenario in chosen_scen:
            doc, old, rows = _plan(case, scenario, tolerances, exact)
            moved += rows
            untolerated |= {f for f in doc["fields"] if gh.tolerance_for(f, tolerances) is None}
            path = gh.golden_path(case, scenario)
            text = gh.dumps(doc)
            if old is None:
                added.append(path)
            elif path.read_text(encoding="utf-8") != text:
                rewritten.append(path)
            else:
                continue
            if not check:
                path.write_text(text, encoding="utf-8")
    if not cases and not scenarios_:
        wanted = {(c, s) for c in all_cases for s in all_scenarios}
        for key, path in gh.golden_files().items():
            if key not in wanted:
                removed.append(path)
                if not check:
                    path.unlink()

    if moved:
        click.echo(gh.table(moved, title=f"{len(moved)} field(s) moved:", labels=("old", "new")))
    for label, paths in (("added", added), ("removed", removed)):
        for p in paths:
            click.echo(f"{label}: {p.relative_to(gh.EXPECTED_DIR.parent.parent)}")
    if untolerated:
        click.echo("no tolerance in tests/expected/tolerances.yaml for: " + ", ".join(sorted(untolerated)),
                   err=True)
    n = len(chosen_cases) * len(chosen_scen)
    verb = "would change" if check else "changed"
    click.echo(f"{n} case x scenario run(s): {len(rewritten)} file(s) {verb}, {len(added)} added, "
               f"{len(removed)} removed; {len(moved)} field(s) moved.")
    if check and (rewritten or added or removed):
        sys.exit(1)


if __name__ == "__main__":
    main()
