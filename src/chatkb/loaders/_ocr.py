"""Optical character recognition with RapidOCR on ONNX Runtime.

The detection, direction and recognition models ship inside the ``rapidocr`` wheel; they
are passed by path so the library never tries to download anything. One engine is built
per process on first use and shared behind a lock: OCR is CPU-bound, and two concurrent
runs on a small machine only slow each other down.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chatkb.errors import BackendUnavailableError, LoadError
from chatkb.loaders import progress
from chatkb.models import Block

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_PIXELS = 60_000_000  # a bigger image is refused rather than decoded
MIN_PICTURE_BYTES = 2048  # embedded icons and bullets are not worth an OCR run
# A page or picture where fewer than 1 pixel in 10,000 stands out from the background is
# blank (scanner dust, a faint edge): OCR would spend a second or more to find nothing.
_INK_CONTRAST = 64  # grey levels from the background that count as ink
_MIN_INK_SHARE = 1e-4
_MODELS = {
    "Det.model_path": "PP-OCRv6_det_small.onnx",
    "Rec.model_path": "PP-OCRv6_rec_small.onnx",
    "Cls.model_path": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
_ENGINE_LOCK = threading.Lock()
_engine: Any = None  # the process-wide RapidOCR engine, built on first use


@dataclass(frozen=True)
class _Line:
    text: str
    top: float
    bottom: float
    left: float

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


def ocr_threads() -> int:
    """ONNX Runtime threads: at most 2, since more oversubscribe small shared machines."""
    return max(1, min(2, os.cpu_count() or 1))


def _build_engine() -> Any:
    try:
        import rapidocr
        from rapidocr import RapidOCR
    except ImportError as exc:
        hint = "OCR needs rapidocr and onnxruntime: pip install rapidocr onnxruntime"
        raise BackendUnavailableError(hint) from exc
    models = Path(rapidocr.__file__).parent / "models"
    params: dict[str, object] = {key: str(models / name) for key, name in _MODELS.items()}
    params |= {
        "Global.log_level": "error",
        "EngineConfig.onnxruntime.intra_op_num_threads": ocr_threads(),
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        # Detect on the image scaled to at most 960 px (recognition still reads crops at
        # full resolution): about twice as fast on scanned pages, same text recovered.
        "Det.limit_type": "max",
        "Det.limit_side_len": 960,
    }
    _let_idle_threads_sleep()
    return RapidOCR(params=params)


def _let_idle_threads_sleep() -> None:
    """Sessions RapidOCR makes from now on let idle threads sleep instead of spinning.

    ONNX Runtime's intra-op threads spin while they wait for work; when the cores are busy
    (other files loading, an embedder, another user), the spinning takes CPU from the thread
    doing the work. Measured on a busy 2-core machine, OCR of a table image with 2 threads:
    6.6-7.2 s -> 3.0-3.5 s wall, 2.45 -> 1.6 CPU-s, the same text. RapidOCR makes its own
    session options, lazily on each model's first use, so the entry is added to every set
    it makes (in this process only RapidOCR uses that class).
    """
    try:
        from rapidocr.inference_engine.onnxruntime.main import OrtInferSession
    except ImportError:  # another layout of rapidocr: its defaults still work
        return
    original = OrtInferSession.__dict__.get("_init_sess_opts")
    if not isinstance(original, staticmethod) or getattr(original.__func__, "chatkb", False):
        return
    make = original.__func__

    def sleeping(cfg: Any) -> Any:
        options = make(cfg)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return options

    patched = staticmethod(sleeping)
    setattr(sleeping, "chatkb", True)  # noqa: B010
    setattr(OrtInferSession, "_init_sess_opts", patched)  # noqa: B010


def flatten(image: Image) -> Image:
    """RGB with any transparency composited onto white (black text on a transparent
    background would otherwise become black on black)."""
    from PIL import Image as PilImage

    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = PilImage.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def ocr_paragraphs(image: Image) -> list[str]:
    """The text in ``image`` as paragraphs, lines in reading order (top to bottom)."""
    global _engine
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise LoadError(f"image is {width}x{height} pixels, too large to OCR")
    if min(width, height) < 8:
        return []
    rgb = flatten(image)
    if is_blank(rgb):
        return []
    with _ENGINE_LOCK:
        if _engine is None:
            _engine = _build_engine()
        result = _engine(rgb)
    progress.tick()  # a page or picture OCR'd: the worker's clock starts again
    if not result.txts:
        return []
    lines = [
        _Line(text, float(box[:, 1].min()), float(box[:, 1].max()), float(box[:, 0].min()))
        for text, box in zip(result.txts, result.boxes, strict=True)
        if text.strip()
    ]
    return _paragraphs(_rows(lines))


def is_blank(image: Image) -> bool:
    """Whether ``image`` has (almost) no ink: milliseconds, against OCR's seconds."""
    counts = image.convert("L").histogram()
    background = max(range(256), key=counts.__getitem__)  # the commonest shade: the paper
    ink = sum(n for level, n in enumerate(counts) if abs(level - background) >= _INK_CONTRAST)
    return ink < _MIN_INK_SHARE * image.size[0] * image.size[1]


def ocr_blocks(image: Image, *, page: int | None = None) -> list[Block]:
    return [Block(text, page=page) for text in ocr_paragraphs(image)]


def ocr_picture(blob: bytes, *, page: int | None = None) -> list[Block]:
    """OCR an embedded picture; tiny ones (icons, bullets) and formats PIL cannot decode
    (EMF/WMF) are skipped, since a document must not fail over one picture."""
    from PIL import Image as PilImage

    if len(blob) < MIN_PICTURE_BYTES:
        return []
    try:
        image = PilImage.open(io.BytesIO(blob))
        if image.size[0] * image.size[1] > MAX_PIXELS:
            return []
        with warnings.catch_warnings():  # the size is checked above, against a lower cap
            warnings.simplefilter("ignore", PilImage.DecompressionBombWarning)
            image.load()
    except (OSError, ValueError, SyntaxError, PilImage.DecompressionBombError):
        return []
    return ocr_blocks(image, page=page)


def _rows(lines: list[_Line]) -> list[list[_Line]]:
    """Boxes whose vertical middles fall inside one another form a row (a table row, or
    one line split into several boxes)."""
    rows: list[list[_Line]] = []
    for line in sorted(lines, key=lambda item: item.middle):
        row = rows[-1] if rows else None
        if row and row[0].top <= line.middle <= row[0].bottom:
            row.append(line)
        else:
            rows.append([line])
    return [sorted(row, key=lambda item: item.left) for row in rows]


def _paragraphs(rows: list[list[_Line]]) -> list[str]:
    """Rows separated by a gap taller than one line height start a new paragraph."""
    paragraphs: list[list[str]] = []
    previous_bottom: float | None = None
    for row in rows:
        top = min(line.top for line in row)
        height = max(line.bottom - line.top for line in row)
        text = " ".join(line.text.strip() for line in row)
        if previous_bottom is None or top - previous_bottom > height:
            paragraphs.append([text])
        else:
            paragraphs[-1].append(text)
        previous_bottom = max(line.bottom for line in row)
    return ["\n".join(lines) for lines in paragraphs]
