"""Every seeded fault of tests/faults still applies to today's code: each edit's text occurs exactly once in its
file and the edit changes it. The harness (`python -m tests.faults`, slow) refuses a fault that does not apply;
this fast check fails at once when a refactor moves a line a fault edits, instead of at the next harness run."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults import FAULTS, FILES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_the_fault_applies_exactly_once(fault):
    for key, old, new in fault.edits:
        text = (ROOT / FILES[key]).read_text(encoding="utf-8")
        assert old != new, f"{fault.name}: the edit of {FILES[key]} changes nothing"
        assert text.count(old) == 1, (f"{fault.name}: {FILES[key]} contains {old!r} {text.count(old)} times "
                                      f"(expected exactly 1): update the fault in tests/faults/__init__.py")
