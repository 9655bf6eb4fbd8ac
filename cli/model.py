"""``ipledge model fit|show|use``: offline fit, inspection and serving of the pipeline-success posterior.

``show`` and ``use`` read the posterior through the light :mod:`ipledge.risk.posterior` module; only ``fit``
imports PyMC. ``use FILE`` records the file in $IPLEDGE_HOME/model_in_use.json (default ~/.ipledge):
the CLI and servers started afterwards serve it ($IPLEDGE_POSTERIOR, if set, still wins).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

POSTERIOR_HOME = Path("~/.ipledge/posteriors")


def _fail(message: str, code: int = 2):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group("model")
def model():
    """Bayesian pipeline-success model: fit a posterior or show the one in use."""


@model.command("fit")
@click.option("--evidence", "evidence", metavar="FILE.csv", help="Own outcomes: therapeutic_area,transition,n,successes.")
@click.option("--out", "out", metavar="PATH", help="Output netcdf (default ~/.ipledge/posteriors/<model_version>.nc).")
@click.option("--force", is_flag=True, help="Overwrite --out if it exists (needed for the shipped file).")
@click.option("--draws", type=click.IntRange(min=1), help="Draws per chain after tuning.")
@click.option("--tune", type=click.IntRange(min=0), help="Tuning steps per chain.")
@click.option("--chains", type=click.IntRange(min=1), help="Number of chains.")
@click.option("--seed", type=int, help="Random seed.")
@click.option("--sampler", type=click.Choice(["nutpie", "pymc"]), help="NUTS implementation (default nutpie).")
@click.option("--progress", is_flag=True, help="Show the sampler's progress bar even off a terminal.")
@click.option("--quiet", "-q", is_flag=True, help="No sampler progress bar (default: shown at a terminal).")
def fit(evidence, out, force, draws, tune, chains, seed, sampler, progress, quiet):
    """Fit the posterior on the cited counts (+ evidence) and write it as a new model version."""
    import warnings

    # ArviZ announces its 1.0 refactor on import; it says nothing about this fit.
    warnings.filterwarnings("ignore", message="ArviZ is undergoing", category=FutureWarning)
    from ipledge.risk.pipeline_model import (
        ESS_BULK_MIN, PPC_COVERAGE_MIN, R_HAT_MAX, EvidenceError, PipelineModel, load_data, read_evidence,
    )
    from ipledge.risk.posterior import shipped_posterior_path

    try:
        ev = read_evidence(evidence) if evidence else None
    except EvidenceError as exc:
        _fail(str(exc))
    overrides = {k: v for k, v in {"draws": draws, "tune": tune, "chains": chains, "random_seed": seed,
                                   "sampler": sampler}.items() if v is not None}
    m = PipelineModel(sampler_config=overrides)
    if m.sampler_config["sampler"] == "nutpie":
        try:
            import nutpie  # noqa: F401
        except ImportError:
            _fail("nutpie is not installed (pip install nutpie, or use --sampler pymc)")
    m.data = load_data(ev)
    version = m.model_version
    target = Path(out).expanduser() if out else POSTERIOR_HOME.expanduser() / f"{version}.nc"
    is_shipped = target.resolve() == shipped_posterior_path().resolve()
    # Checked before sampling so a refused write costs nothing.
    if is_shipped and not force:
        _fail(f"{target} is the shipped default posterior; pass --force to overwrite it")
    if target.exists() and not force:
        _fail(f"{target} exists; pass --force to overwrite it or choose another --out")

    from ipledge.cli.progress import stderr_is_terminal

    # the sampler's own bar (nutpie / PyMC), driven by its draws: at a terminal unless --quiet
    m.fit(m.data, progressbar=progress or (not quiet and stderr_is_terminal()))
    diag = m.diagnostics()
    _, ppc = m.posterior_predictive_check()
    path = m.save(target, overwrite=force, allow_shipped=is_shipped and force)
    click.echo(f"model_version {version}")
    click.echo(f"sampler {m.sampler_config['sampler']}, {diag['chains']} chains x {diag['draws_per_chain']} draws, "
               f"{m.fit_seconds:.1f} s")
    click.echo(f"r_hat_max {diag['r_hat_max']:.4f} (bar <= {R_HAT_MAX}), ess_bulk_min {diag['ess_bulk_min']:.0f} "
               f"(bar >= {ESS_BULK_MIN:.0f}), divergences {diag['divergences']}")
    click.echo(f"PPC {ppc['inside']}/{ppc['cells']} cells inside the {ppc['interval']:.0%} interval "
               f"({ppc['coverage']:.1%}, bar >= {PPC_COVERAGE_MIN:.0%})")
    click.echo(f"wrote {path}")
    click.echo(f"serve it with: ipledge model use {path}")
    if not (diag["converged"] and ppc["passed"]):
        click.echo("warning: posterior below the quality bars; refit with more --draws/--tune", err=True)
        sys.exit(1)


@model.command("use")
@click.argument("file", required=False, metavar="FILE")
@click.option("--shipped", is_flag=True, help="Serve the shipped posterior again (forget the recorded file).")
def use(file, shipped):
    """Serve FILE (a posterior written by `model fit`) from now on, in the CLI and in servers started later."""
    from ipledge.risk.posterior import ENV_POSTERIOR, in_use_path, read_posterior

    record = in_use_path()
    if shipped == bool(file):
        _fail("give either FILE or --shipped")
    if shipped:
        record.unlink(missing_ok=True)
        click.echo("serving the shipped posterior")
        return
    path = Path(file).expanduser().resolve()
    if not path.exists():
        _fail(f"posterior file not found: {file}")
    try:
        post = read_posterior(path)
    except (OSError, KeyError, ValueError) as exc:
        _fail(f"cannot read posterior {file}: {exc}")
    if post.attrs.get("model_type") != "ipledge-pipeline":
        _fail(f"{file} is not an ipledge pipeline posterior (model_type={post.attrs.get('model_type')!r})")
    diag = post.attrs.get("diagnostics", {}) or {}
    if not diag.get("converged"):
        _fail(f"{file} did not meet the sampler quality bars (r_hat_max {diag.get('r_hat_max')}, "
              f"ess_bulk_min {diag.get('ess_bulk_min')}); refit it")
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps({"path": str(path), "model_version": post.model_version}, indent=2) + "\n")
    tmp.replace(record)
    click.echo(f"serving {post.model_version} from {path} (recorded in {record}); restart running servers")
    import os

    if os.environ.get(ENV_POSTERIOR):
        click.echo(f"warning: ${ENV_POSTERIOR} is set and takes precedence in this shell", err=True)


@model.command("show")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--posterior", "posterior", metavar="PATH",
              help="Posterior file (default: $IPLEDGE_POSTERIOR, else the `model use` file, else shipped).")
@click.option("--region", type=click.Choice(["global", "china"]), default="global", show_default=True,
              help="china: with the offset calibrated on Wang et al. 2022.")
def show(as_json, posterior, region):
    """Predictive probability of approval per area and stage, with diagnostics and the checks."""
    from ipledge.risk.posterior import load_posterior, read_posterior

    try:
        post = read_posterior(posterior) if posterior else load_posterior()
        doc = post.show(region=region)
    except FileNotFoundError as exc:
        _fail(f"posterior file not found: {exc.filename or posterior}")
    except (OSError, KeyError, ValueError) as exc:
        _fail(f"cannot read posterior {posterior or '(default)'}: {exc}")
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return

    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    attrs = post.attrs
    diag = attrs.get("diagnostics", {}) or {}
    ppc = attrs.get("ppc", {}) or {}
    console.print(f"[bold]model_version[/] {doc['model_version']}  sampler {attrs.get('sampler')}  "
                  f"seed {attrs.get('seed')}  draws {post.n_draws}  created {attrs.get('created_utc')}")
    console.print(f"served: {doc['served']['path']} ({doc['served']['source']}); region {region}", highlight=False)
    if doc.get("drift_scale"):
        ds = doc["drift_scale"]
        console.print(f"between-edition drift scale (logit, per transition): {ds['mean']:.3f} "
                      f"[{ds['interval_90'][0]:.3f}, {ds['interval_90'][1]:.3f}]; intervals below are predictive")
    chk = doc.get("reference_check") or {}
    if chk.get("figures"):
        console.print(f"reference figures inside the 90% predictive interval: {chk['inside']}/{chk['figures']} "
                      f"({chk['note']})")
    ok = diag.get("converged")
    console.print(f"diagnostics: r_hat_max {diag.get('r_hat_max', float('nan')):.4f} (<= 1.01), "
                  f"ess_bulk_min {diag.get('ess_bulk_min', float('nan')):.0f} (>= 400), "
                  f"divergences {diag.get('divergences')}: {'converged' if ok else 'NOT CONVERGED'}")
    if ppc:
        console.print(f"posterior predictive check: {ppc['inside']}/{ppc['cells']} cells ({ppc['coverage']:.1%}) "
                      f"inside the {ppc['interval']:.0%} interval of replicated counts (>= 90%): "
                      f"{'pass' if ppc.get('passed') else 'FAIL'}")
        for line in ppc.get("outside", []):
            console.print(f"  outside: {line}")
    rows = {(r["therapeutic_area"], r["modality"], r["stage"]): r for r in doc["p_approval"]}
    stages = list(dict.fromkeys(r["stage"] for r in doc["p_approval"]))
    console.print("probability of approval from each stage, predictive mean; '90% HDI' is for 'all' "
                  "(all modalities); modality columns add that modality's offset")
    for area in [*post.areas, "ALL"]:
        table = Table(title=area, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
        table.add_column("stage", no_wrap=True)
        table.add_column("all", justify="right")
        table.add_column("90% HDI", justify="right", no_wrap=True)
        for m in post.modalities:
            table.add_column(m.replace("_", "\n"), justify="right")
        for stage in stages:
            lo, hi = rows[(area, None, stage)]["hdi_90"]
            table.add_row(stage, f"{rows[(area, None, stage)]['mean']:.1%}", f"{100 * lo:.1f}-{100 * hi:.1f}%",
                          *[f"{rows[(area, m, stage)]['mean']:.1%}" for m in post.modalities])
        console.print(table)
    console.print("sources:")
    for s in doc.get("sources", []):
        console.print(f"  - {s}", highlight=False)
