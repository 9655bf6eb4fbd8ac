"""The fonts the PDF report draws with, found through fontconfig, and a check that they cover the text.

The PDF stack is ``PDF_FAMILIES`` (Debian ``fonts-dejavu-core`` and ``fonts-noto-cjk``). Pango would
otherwise fall back silently to any font, or draw an empty box, for a character none of them has: the
report must fail instead, naming the character (a Chinese applicant name once vanished from the PDF).
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import unicodedata

PDF_FAMILIES = ("DejaVu Sans", "Noto Sans CJK SC")
INSTALL_HINT = "install the Debian packages fonts-dejavu-core and fonts-noto-cjk (see README)"


class GlyphError(ValueError):
    """Text of the report contains characters no font of the PDF stack can draw (a user-fixable input)."""


@functools.lru_cache(maxsize=None)
def font_file(family: str) -> str | None:
    """Path of the regular face of ``family`` as fontconfig resolves it, or None when it is not installed."""
    exe = shutil.which("fc-match")
    if exe is None:
        return None
    out = subprocess.run([exe, "--format=%{family}\n%{file}", f"{family}:style=Regular"], capture_output=True,
                         text=True, check=False, timeout=20).stdout.splitlines()
    if len(out) < 2 or family.lower() not in out[0].lower():  # fontconfig substituted another family
        return None
    return out[1]


@functools.lru_cache(maxsize=None)
def _cmap(path: str, family: str) -> frozenset[int]:
    from fontTools.ttLib import TTCollection, TTFont

    if path.lower().endswith((".ttc", ".otc")):
        fonts = TTCollection(path).fonts
        font = next((f for f in fonts if family.lower() in str(f["name"].getDebugName(1)).lower()), fonts[0])
    else:
        font = TTFont(path, lazy=True)
    return frozenset(font.getBestCmap() or {})


def coverage(families=PDF_FAMILIES) -> tuple[frozenset[int], list[str]]:
    """(code points drawable by the installed families, the families that are missing)."""
    points: set[int] = set()
    missing = []
    for fam in families:
        path = font_file(fam)
        if path is None:
            missing.append(fam)
            continue
        points |= _cmap(path, fam)
    return frozenset(points), missing


def check_text(text: str, families=PDF_FAMILIES) -> None:
    """Raise :class:`GlyphError` naming every character of ``text`` that no family can draw."""
    covered, missing = coverage(families)
    bad: dict[str, int] = {}
    for ch in text:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") or ord(ch) in covered:
            continue
        bad[ch] = bad.get(ch, 0) + 1
    if bad:
        shown = ", ".join(f"'{c}' U+{ord(c):04X} {unicodedata.name(c, '')}".strip() for c in list(bad)[:8])
        more = f" and {len(bad) - 8} more" if len(bad) > 8 else ""
        hint = f"; fonts not installed: {', '.join(missing)} ({INSTALL_HINT})" if missing else ""
        raise GlyphError(f"the PDF cannot draw {len(bad)} character(s): {shown}{more}{hint}")
