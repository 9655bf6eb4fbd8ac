"""GET /v1/model serves the posterior `ipledge model use` chose, says which, and offers region=china (issue 13)."""

from __future__ import annotations

import json
import shutil

import pytest

from ipledge.risk.posterior import ALL_AREAS, load_posterior, shipped_posterior_path
from tests.api_helpers import auth, problem as assert_problem


def test_model_says_which_file_is_served(api_client, api_key_factory):
    _, key = api_key_factory()
    doc = api_client.get("/v1/model", headers=auth(key)).get_json()
    assert doc["served"] == {"path": str(shipped_posterior_path()), "model_version": doc["model_version"],
                             "source": "shipped"}, doc["served"]
    assert len(doc["transitions"]) > 0 and doc["region"] == "global"


def test_server_serves_the_used_file(api_db_config, monkeypatch, tmp_path):
    from ipledge.api import create_app

    copy = tmp_path / "refit.nc"
    shutil.copy(shipped_posterior_path(), copy)
    home = tmp_path / "home"
    home.mkdir()
    (home / "model_in_use.json").write_text(json.dumps({"path": str(copy)}))
    monkeypatch.setenv("IPLEDGE_HOME", str(home))
    monkeypatch.delenv("IPLEDGE_POSTERIOR", raising=False)
    load_posterior.cache_clear()
    app = create_app({**api_db_config, "RATELIMIT_STORAGE_URI": "memory://", "TESTING": True})
    try:
        _, key = app.extensions["ipledge_store"].create_key("use-test")
        doc = app.test_client().get("/v1/model", headers=auth(key)).get_json()
        assert doc["served"]["path"] == str(copy) and "model use" in doc["served"]["source"], doc["served"]
    finally:
        app.extensions["ipledge_store"].dispose()
        load_posterior.cache_clear()


@pytest.mark.parametrize("region", ["china"])
def test_model_region_china(api_client, api_key_factory, region):
    _, key = api_key_factory()
    doc = api_client.get(f"/v1/model?region={region}", headers=auth(key)).get_json()
    assert doc["region"] == region
    row = next(r for r in doc["p_approval"] if (r["therapeutic_area"], r["modality"], r["stage"]) == (ALL_AREAS, None, "phase1"))
    lo, hi = row["hdi_90"]
    assert lo <= 0.21 <= hi, f"China IND->approval 21% (Wang et al. 2022) not in [{lo:.3f}, {hi:.3f}]"


def test_model_bad_region_is_422_naming_the_field(api_client, api_key_factory):
    _, key = api_key_factory()
    doc = assert_problem(api_client.get("/v1/model?region=eu", headers=auth(key)), 422)
    assert doc["errors"][0]["field"] == "region", doc
