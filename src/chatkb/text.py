"""The CJK character ranges chatkb tells scripts apart by, kept in one place.

Each constant is the inside of a regular-expression character class (``f"[{IDEOGRAPHS}]"``),
so callers can combine them with other ranges. Three sets, because three questions differ:
is this Chinese (ideographs only), is this a CJK letter for tokens and script shares (kana
and hangul count too), may two wrapped lines join without a space (CJK punctuation and
full-width forms too).
"""

from __future__ import annotations

# CJK Unified Ideographs: the Han characters of Chinese text.
IDEOGRAPHS = "\u4e00-\u9fff"

# Letters of the CJK scripts: kana, ideographs (extension A, unified, compatibility), hangul.
CJK_LETTERS = "\u3040-\u30ff\u3400-\u4dbf" + IDEOGRAPHS + "\uf900-\ufaff\uac00-\ud7af"

# Everything written without spaces between characters: radicals through ideographs, CJK
# symbols and punctuation, hangul, compatibility ideographs, full- and half-width forms.
CJK_WIDE = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
