"""tools/mutation.py's registry of equivalent mutants: matching, stale entries, the target rule, the document.

The driver itself runs cosmic-ray (slow, `make mutation`); these check only the bookkeeping that decides what the
report calls a met target, on survivor tuples written out by hand."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("mutation_tool", ROOT / "tools" / "mutation.py")
mt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mt)

DIFF_A = "- if x > 0: | + if x >= 0:"
DIFF_B = "- y = a * b | + y = a / b"
SURVIVORS = [
    (10, 4, "core/ReplaceComparisonOperator_Gt_GtE", 0, "f", DIFF_A),
    (20, 8, "core/ReplaceBinaryOperator_Mul_Div", 1, "g", DIFF_B + mt.UNREACHED),
]


def registry(tmp_path: Path, body: str) -> Path:
    (tmp_path / "risk__thing.toml").write_text(body)
    return tmp_path


def row(survived: int, tested: int, open_, equivalent, pending: int = 0) -> dict:
    return {"module": "risk/thing.py", "tested": tested, "killed": tested - survived, "timeout": 0,
            "incompetent": 0, "survived": survived, "skipped": 0, "pending": pending,
            "score": (tested - survived) / tested, "survivors": open_, "equivalents": equivalent, "stale": [],
            "equivalent": len(equivalent)}


def test_a_registered_survivor_is_split_off_by_operator_and_diff_and_an_unmatched_entry_is_stale(tmp_path):
    folder = registry(tmp_path, f'''
[[equivalent]]
function = "f"
operator = "ReplaceComparisonOperator_Gt_GtE"
diff = "{DIFF_A}"
why = "x is never 0"

[[equivalent]]
function = "h"
operator = "NumberReplacer"
diff = "- n = 1 | + n = 2"
why = "gone"
''')
    entries = mt.load_equivalents("risk/thing.py", folder)
    open_, equivalent, stale = mt.classify(SURVIVORS, entries)
    assert [s[4] for s in open_] == ["g"], open_
    assert [(s[4], s[6]) for s in equivalent] == [("f", "x is never 0")], equivalent
    assert [e["function"] for e in stale] == ["h"], stale


def test_the_same_diff_under_another_operator_does_not_match(tmp_path):
    folder = registry(tmp_path, f'[[equivalent]]\nfunction = "f"\noperator = "NumberReplacer"\n'
                                f'diff = "{DIFF_A}"\nwhy = "w"\n')
    open_, equivalent, stale = mt.classify(SURVIVORS, mt.load_equivalents("risk/thing.py", folder))
    assert len(open_) == 2 and not equivalent and len(stale) == 1


def test_an_unreached_survivor_matches_its_diff_without_the_marker(tmp_path):
    folder = registry(tmp_path, f'[[equivalent]]\nfunction = "g"\noperator = "ReplaceBinaryOperator_Mul_Div"\n'
                                f'diff = "{DIFF_B}"\nwhy = "w"\n')
    open_, equivalent, _ = mt.classify(SURVIVORS, mt.load_equivalents("risk/thing.py", folder))
    assert [s[4] for s in equivalent] == ["g"] and [s[4] for s in open_] == ["f"]


@pytest.mark.parametrize("body", ['[[equivalent]]\nfunction = "f"\noperator = "X"\ndiff = "d"\n',
                                  '[[equivalent]]\nfunction = "f"\noperator = "X"\ndiff = "d"\nwhy = "  "\n'])
def test_an_entry_without_a_reason_is_refused(tmp_path, body):
    with pytest.raises(SystemExit, match="entry 1 needs"):
        mt.load_equivalents("risk/thing.py", registry(tmp_path, body))


def test_no_registry_file_means_no_entries(tmp_path):
    assert mt.load_equivalents("risk/thing.py", tmp_path) == []


def test_the_target_needs_the_raw_score_no_open_survivor_and_a_complete_run():
    eq = [(*SURVIVORS[0], "why")]
    # 85 of 100 killed, the 15 survivors all registered: met
    assert mt.meets_target(row(15, 100, [], eq * 15))
    # one survivor more: 84% raw, although every survivor is registered
    assert not mt.meets_target(row(16, 100, [], eq * 16))
    # 90% but one survivor not registered
    assert not mt.meets_target(row(10, 100, [SURVIVORS[1]], eq * 9))
    # a stopped run (a sample) never meets it
    assert not mt.meets_target(row(5, 100, [], eq * 5, pending=3))


def test_the_document_lists_open_survivors_and_each_equivalent_with_its_reason():
    r = row(2, 40, [SURVIVORS[1]], [(*SURVIVORS[0], "x is never 0")])
    text = mt.markdown([r], {"risk/thing.py": (1.5, 30.0)})
    assert "| `risk/thing.py` | 40 | 38 | 0 | 0 | 2 | 1 | 1 | 0 | 95.0% | no |" in text, text
    assert "risk/thing.py:20:8 ReplaceBinaryOperator_Mul_Div#1 in g: " + DIFF_B in text
    assert "risk/thing.py:10:4 ReplaceComparisonOperator_Gt_GtE#0 in f: " + DIFF_A in text
    assert "x is never 0" in text
