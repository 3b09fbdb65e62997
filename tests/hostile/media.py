"""Images: decompression bombs (huge declared sizes), broken and truncated files, many frames."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator

from hostile._base import ANY, FAIL, Hostile


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 100_000, height: int = 100_000, rows: int = 2_000) -> bytes:
    """A PNG that declares 10^10 pixels; its first rows of zeros compress to almost nothing."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    raw = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    data = b"".join(raw.compress(row) for _ in range(rows)) + raw.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def png_text_bomb() -> bytes:
    """A small image with a compressed text chunk that inflates to 200 MiB."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    text = b"k\0\0" + zlib.compress(b"A" * (200 * 1024 * 1024), 9)
    pixel = zlib.compress(b"\0\0")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"zTXt", text)
        + _chunk(b"IDAT", pixel)
        + _chunk(b"IEND", b"")
    )


def gif_bomb() -> bytes:
    """A GIF whose logical screen and frame claim 65535 x 65535 pixels."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x44\x01\x00;"
    return screen + frame


def bmp_bomb() -> bytes:
    header = struct.pack("<IiiHHIIiiII", 40, 60_000, 60_000, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + header


def tiff_many_frames(count: int = 2_000) -> bytes:
    from PIL import Image

    frames = [Image.new("L", (8, 8)) for _ in range(count)]
    out = io.BytesIO()
    frames[0].save(out, "TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def _real(kind: str) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(out, kind)
    return out.getvalue()


def kinds() -> Iterator[Hostile]:
    yield Hostile("bomb.png", png_bomb(), FAIL, "too large")
    yield Hostile("text-bomb.png", png_text_bomb(), FAIL)
    yield Hostile("bomb.gif", gif_bomb(), FAIL)
    yield Hostile("bomb.bmp", bmp_bomb(), FAIL, "too large")
    yield Hostile("many-frames.tiff", tiff_many_frames(), FAIL)
    for kind, ext in (("PNG", "png"), ("JPEG", "jpg"), ("GIF", "gif"), ("BMP", "bmp"),
                      ("TIFF", "tif"), ("WEBP", "webp")):  # fmt: skip
        data = _real(kind)
        yield Hostile(f"blank.{ext}", data, FAIL)  # no text to find
        yield Hostile(f"truncated.{ext}", data[: len(data) // 3], FAIL)
        yield Hostile(f"header-only.{ext}", data[:16], FAIL)
        yield Hostile(f"noise.{ext}", bytes(range(256)) * 64, FAIL)
    yield Hostile("text-as.png", b"this is not a picture\n" * 50, FAIL)
    yield Hostile("zero-size.png", png_bomb(0, 0, rows=0), FAIL)
    yield Hostile("bad-crc.png", _real("PNG")[:-5] + b"\0\0\0\0\0", ANY)
