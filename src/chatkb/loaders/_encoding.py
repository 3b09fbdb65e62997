"""Turning bytes of unknown encoding into text (UTF-8/16 with or without BOM, GBK, Big5 …)."""

from __future__ import annotations

import codecs

from chatkb.errors import LoadError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_bytes(data: bytes, *, declared: str | None = None) -> str:
    """Decode ``data``: BOM, then a declared charset, then strict UTF-8, then detection.

    GB2312 and GBK are read as GB18030 (a strict superset), since pages that declare or are
    detected as the narrower charsets routinely contain characters from the wider one.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    if _looks_binary(data):
        raise LoadError("file looks binary, not text (NUL bytes); check its extension")
    for encoding in filter(None, (declared, "utf-8")):
        try:
            return data.decode(_widen(encoding))
        except (UnicodeDecodeError, LookupError):
            continue
    return _detect_and_decode(data)


def _detect_and_decode(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 256 * 1024]).best()
    candidates = [best.encoding] if best is not None else []
    candidates += ["gb18030", "big5", "utf-16"]
    for encoding in candidates:
        try:
            return data.decode(_widen(encoding))
        except (UnicodeDecodeError, LookupError):
            continue
    raise LoadError("cannot determine the text encoding; save the file as UTF-8")


def _widen(encoding: str) -> str:
    normal = encoding.lower().replace("-", "").replace("_", "")
    return "gb18030" if normal in {"gb2312", "gbk", "cp936", "euccn", "hzgb2312"} else encoding


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if not sample:
        return False
    # UTF-16 without BOM has many NULs too; only treat as binary when NULs are irregular.
    nul_share = sample.count(0) / len(sample)
    if nul_share == 0:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    utf16_like = nul_share > 0.2 and min(even, odd) < 0.05 * max(even, odd)
    return not utf16_like
