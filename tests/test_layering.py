"""The rooms of the house and their order (issue 16): no import cycle anywhere, and no room imports a higher one.

Read from the source with :mod:`ast` (no import is executed), counting every ``import`` of ours, those inside
functions too: a cycle hidden behind a function-level import is still a cycle for a reader and for a refactor.

Order, lowest first (a room may import only rooms below it, and itself):

    valuation                       the scorecards and the request schema
    scenarios                       stress scenarios, cases, books (data and their loader)
    risk        -> valuation, scenarios
    reports     -> risk, valuation, scenarios
    api         -> reports, risk, valuation, scenarios
    cli         -> api, reports, risk, valuation, scenarios
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("valuation", "scenarios", "risk", "reports", "api", "cli")
ALLOWED = {
    "valuation": set(),
    "scenarios": set(),
    "risk": {"valuation", "scenarios"},
    "reports": {"risk", "valuation", "scenarios"},
    "api": {"reports", "risk", "valuation", "scenarios"},
    "cli": {"api", "reports", "risk", "valuation", "scenarios"},
}
BARE_ROOTS = {"api", "risk", "valuation", "scenarios", "cli", "reports"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["ipledge", *parts])


def source_files():
    for room in ROOMS:
        yield from sorted((ROOT / room).rglob("*.py"))


def is_package(mod: str) -> bool:
    return (ROOT.joinpath(*mod.split(".")[1:]) / "__init__.py").is_file()


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of an ipledge module in ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            # `from ipledge.valuation import rights` imports the module ipledge.valuation.rights
            for a in node.names:
                sub = f"{mod}.{a.name}"
                if sub.startswith("ipledge.") and (module_exists(sub)):
                    out.append((node.lineno, sub))
    return [(line, m) for line, m in out if m == "ipledge" or m.startswith("ipledge.") or m.split(".")[0] in BARE_ROOTS]


def module_exists(mod: str) -> bool:
    p = ROOT.joinpath(*mod.split(".")[1:])
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def room_of(mod: str) -> str | None:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "ipledge" else None


def graph() -> dict[str, set[str]]:
    g: dict[str, set[str]] = {}
    for f in source_files():
        me = module_name(f)
        deps = g.setdefault(me, set())
        for _, m in imports_of(f):
            if module_exists(m) and m != me and not (is_package(m) and me.startswith(m + ".")):
                deps.add(m)
    return g


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_the_source_tree_has_every_room():
    for room in ROOMS:
        assert (ROOT / room / "__init__.py").is_file(), room


def test_no_import_cycle_anywhere():
    found = cycles(graph())
    assert not found, "import cycles (each a set of modules that import each other):\n" + "\n".join(
        "  " + " <-> ".join(c) for c in found)


def test_every_import_of_ours_goes_through_the_ipledge_namespace():
    bare = [f"{f.relative_to(ROOT)}:{line}: {m}" for f in source_files() for line, m in imports_of(f)
            if m.split(".")[0] in BARE_ROOTS]
    assert not bare, "imports of a bare top-level name (installed, these would be missing or someone else's):\n" + \
        "\n".join(bare)


def test_no_room_imports_a_higher_one():
    bad = []
    for f in source_files():
        me = room_of(module_name(f))
        for line, m in imports_of(f):
            other = room_of(m)
            if other and other != me and other not in ALLOWED[me]:
                bad.append(f"{f.relative_to(ROOT)}:{line}: {me} imports {m} ({other} is not below {me})")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("edges,expected", [
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
])
def test_the_cycle_finder_finds_cycles(edges, expected):
    assert cycles(edges) == expected
