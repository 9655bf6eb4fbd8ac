"""The installed distribution (issue 16): `pip install` adds only ``ipledge`` (and its dist-info) at the top level of
site-packages, the build prints no packaging warning, and the installed package finds its data and runs.

The wheel is built from this checkout with the build tools of the test's own environment (no network) and
installed, without its dependencies, into a fresh virtual environment; the dependencies are then made visible to
that environment through a ``.pth`` line to this environment's site-packages (appended after its own, so nothing of
ours can come from there: the repository is not on that path).
"""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("wheel")
    build = tmp_path_factory.mktemp("build")
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out),
                          "--no-cache-dir", str(ROOT)], capture_output=True, text=True, env=env, cwd=build, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    wheels = list(out.glob("ipledge-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0], res.stdout + res.stderr


def test_the_build_prints_no_packaging_warning(wheel):
    _, log = wheel
    noisy = [line for line in log.splitlines()
             if any(w in line for w in ("would be ignored", "SetuptoolsDeprecationWarning", "_IncludePackageDataAbuse",
                                        "Installing '", "as data is deprecated"))]
    assert not noisy, "packaging warnings:\n" + "\n".join(noisy[:20])


def test_the_wheel_holds_only_the_ipledge_namespace_and_its_data(wheel):
    path, _ = wheel
    names = zipfile.ZipFile(path).namelist()
    top = {n.split("/")[0] for n in names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    assert top - dist_info == {"ipledge"}, sorted(top)
    for needed in ("ipledge/risk/data/schemes.yaml", "ipledge/scenarios/cases/anaesthetic_injectable.yaml",
                   "ipledge/reports/templates/report.html", "ipledge/reports/static/selfassess.css",
                   "ipledge/reports/translations/zh/LC_MESSAGES/messages.po", "ipledge/api/static/selfassess.js",
                   "ipledge/api/migrations/script.py.mako", "ipledge/cli/main.py", "ipledge/valuation/schema.py"):
        assert needed in names, f"{needed} missing from the wheel"
    assert any(n.startswith("ipledge/risk/data/") and n.endswith(".nc") for n in names), "posterior file missing"
    assert not any(n.startswith(("ipledge/tests/", "ipledge/benchmarks/")) for n in names)


def test_pip_install_adds_only_ipledge_at_the_top_level_and_it_runs(wheel, tmp_path):
    path, _ = wheel
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    before = {p.name for p in site.iterdir()}
    res = subprocess.run([py, "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(path)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    added = {p.name for p in site.iterdir()} - before
    added = {a for a in added if a != "__pycache__"}
    assert {a for a in added if not a.endswith(".dist-info")} == {"ipledge"}, sorted(added)
    # dependencies from this environment, after the fresh one's own site-packages; run outside the repository
    (site / "zz_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    code = ("import ipledge, ipledge.risk.assess, ipledge.api.app, ipledge.reports.report, ipledge.cli.main; "
            "from ipledge.risk.schemes import catalogue; catalogue(); "
            "print(ipledge.risk.assess.__file__)")
    res = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().startswith(str(site)), res.stdout
    # the console script, with the shipped posterior and the bundled case read from the installed package
    case = site / "ipledge" / "scenarios" / "cases" / "anaesthetic_injectable.yaml"
    res = subprocess.run([venv / "bin" / "ipledge", "assess", "--json", "--paths", "1000", str(case)],
                         capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr
    assert '"model_version"' in res.stdout and '"decision"' in res.stdout
