"""The portfolio book's rules (ipledge.risk.portfolio): what a book may contain, its defaults, where an error is.

- simulation.paths in 1000..1,000,000, simulation.seed in 0..2**63 - 1, simulation.chunk_paths in 100..1,000,000
  (module docstring and the error message): each bound is accepted and one beyond it is refused, with the
  range written out in the message;
- the defaults of a Book built in code (paths 10,000, seed 7, chunks of 2,000, factors on) and of the plan
  (25 loans per task);
- the factor settings that switch one factor alone on, and a rate shift of exactly 0;
- the settings objects are frozen (a task shipped to a worker cannot be changed on the way);
- a bad pledge in a book file names the line and column of the first field the message names.
"""
from __future__ import annotations

import dataclasses

import pytest
import yaml

from ipledge.risk import portfolio as pf
from risk_helpers import case


@pytest.fixture(scope="module")
def pledge_json():
    return case("anaesthetic_injectable").model_dump(mode="json")


# (setting, smallest, largest) as the module docstring and the message state them
BOUNDS = [("paths", 1000, 1_000_000), ("seed", 0, 9_223_372_036_854_775_807), ("chunk_paths", 100, 1_000_000)]


@pytest.mark.parametrize("name, lo, hi", BOUNDS)
def test_each_simulation_setting_accepts_its_bounds_and_refuses_one_beyond(pledge_json, name, lo, hi):
    for v in (lo, hi):
        book = pf.Book.from_dict({"pledges": [pledge_json], "simulation": {name: v}})
        got = getattr(book, name)
        want = min(v, book.paths) if name == "chunk_paths" else v     # a chunk is at most the whole book
        assert got == want, f"simulation.{name} = {v}: expected {want} in the book, got {got}"
    for v in (lo - 1, hi + 1):
        with pytest.raises(pf.BookError) as err:
            pf.Book.from_dict({"pledges": [pledge_json], "simulation": {name: v}})
        want = f"simulation.{name} must be an integer in {lo}..{hi}"
        assert str(err.value) == want, f"simulation.{name} = {v}: expected {want!r}, got {str(err.value)!r}"


def test_the_largest_chunk_is_kept_whole_in_a_book_of_as_many_paths(pledge_json):
    b = pf.Book.from_dict({"pledges": [pledge_json], "simulation": {"paths": 1_000_000, "chunk_paths": 1_000_000}})
    assert (b.paths, b.chunk_paths) == (1_000_000, 1_000_000), (b.paths, b.chunk_paths)


def test_a_book_built_in_code_has_the_documented_defaults():
    b = pf.Book([case("anaesthetic_injectable")])
    got = (b.paths, b.seed, b.chunk_paths, b.factors)
    assert got == (10_000, 7, 2000, pf.FactorModel(0.30, 0.50, 0.01)), f"expected (10000, 7, 2000, on), got {got}"


def test_a_plan_groups_25_loans_per_task_by_default():
    req = case("anaesthetic_injectable")
    b = pf.Book([req] * 26, paths=1000, seed=1, chunk_paths=500, factors=pf.FactorModel())
    tasks = pf.plan(b)
    got = [(t.chunk, [ln.index for ln in t.loans]) for t in tasks]
    want = [(c, list(block)) for c in (0, 1) for block in (range(25), [25])]
    assert got == want, f"26 loans, 2 chunks: expected blocks of 25 and 1 per chunk, got {got}"


def test_one_factor_alone_switches_the_factors_on_and_a_rate_shift_of_zero_is_allowed():
    for fm in (pf.FactorModel(0.3, 0.0, 0.0), pf.FactorModel(0.01, 0.0, 0.0)):
        assert fm.on, f"{fm}: the funding factor alone is a factor"
    got = pf.FactorModel.parse({"funding": 0.2, "vbp": 0.4, "rate_sd": 0.0})
    assert got == pf.FactorModel(0.2, 0.4, 0.0), got
    got = pf.FactorModel.parse({"rate_sd": 0})
    assert got == pf.FactorModel(0.3, 0.5, 0.0) and got.on, got


def test_factor_models_loan_specs_and_tasks_are_frozen():
    b = pf.Book([case("anaesthetic_injectable")], paths=1000, seed=1, chunk_paths=1000)
    task = pf.plan(b)[0]
    spec = task.loans[0]
    for obj, attr, value in [(pf.FactorModel(), "funding", 0.9), (spec, "ip_contribution", 1.0),
                             (task, "n_paths", 5)]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, value)
    assert task.n_paths == 1000 and pf.FactorModel().funding == 0.30


def test_a_bad_pledge_names_the_line_and_column_of_the_first_field_the_message_names(tmp_path, pledge_json):
    p = {**pledge_json, "applicant": {**pledge_json["applicant"], "cash": "lots"},
         "loan": {**pledge_json["loan"], "rate": "high"}}                  # two errors, far apart
    text = yaml.safe_dump({"pledges": [p]}, sort_keys=False)
    f = tmp_path / "book.yaml"
    f.write_text(text)
    lines = text.splitlines()
    cash = next(i for i, ln in enumerate(lines) if ln.strip() == "cash: lots")
    rate = next(i for i, ln in enumerate(lines) if ln.strip() == "rate: high")
    assert abs(cash - rate) > 5, "the fixture must put the two bad fields on different lines"
    col = lines[cash].index("cash") + 1
    with pytest.raises(pf.BookError) as err:
        pf.load_book(f)
    msg = str(err.value)
    want = f"{f}:{cash + 1}:{col}: pledges[0]: applicant.cash"
    assert msg.startswith(want), f"expected the message to start with {want!r}, got {msg!r}"

