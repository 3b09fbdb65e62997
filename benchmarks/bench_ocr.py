"""OCR speed per file: pages/s, CPU-seconds, where the time goes, and the text it gives.

    python benchmarks/bench_ocr.py [--datasets DIR] [--files a.pdf,b.jpg] [--save out.json]
    python benchmarks/bench_ocr.py --compare before.json --save after.json

Loads each scanned PDF and image of ``datasets/docs`` once, in this process, through the
normal loaders with default options (the OCR engine is built and warmed up first; its
start-up time is printed separately). Per file: pages, wall seconds, CPU-seconds of this
process, pages per wall second and per CPU-second, the RapidOCR stages (detection, direction,
recognition seconds) and how many images were sent to OCR. ``--save`` writes the extracted
text; ``--compare`` prints the character-level similarity (difflib ratio) of each file's
text against an earlier run, so a speed-up can be checked for lost text. Run with
``PYTHONPATH=<other checkout>/src`` to measure another version. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import difflib
import json
import time
from pathlib import Path
from typing import Any

from _common import IMAGES, datasets_root, load_average

SCANS = ("en_scanned_image.pdf", "zh_scanned_small_ocr.pdf", "zh_mixed_text_and_image.pdf")
_STAGES: list[list[float]] = []  # one [det, cls, rec] per OCR call of the current file


def _default_docs() -> Path:
    return datasets_root() / "docs"


def _record_stages() -> None:
    """Wrap the engine builder so each OCR call's stage timings are kept."""
    from chatkb.loaders import _ocr

    build = _ocr._build_engine

    def recording(*args: Any, **kwargs: Any) -> Any:
        engine = build(*args, **kwargs)

        def call(image: Any) -> Any:
            result = engine(image)
            elapse = list(getattr(result, "elapse_list", None) or [])
            _STAGES.append([float(value or 0.0) for value in elapse] + [0.0] * (3 - len(elapse)))
            return result

        return call

    _ocr._build_engine = recording


def _load(path: Path) -> tuple[int, float, float, str]:
    """(pages, wall s, CPU s, text) for one load; an image counts as one page."""
    from chatkb.loaders import LoaderOptions, load_file

    wall, cpu = time.perf_counter(), time.process_time()
    document = load_file(path, LoaderOptions())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    pages = {block.page for block in document.blocks if block.page is not None}
    text = "\n".join(block.text for block in document.blocks)
    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium  # type: ignore[import-untyped]

        count = len(pdfium.PdfDocument(path))
    else:
        count = max(len(pages), 1)
    return count, wall, cpu, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=None, help="the datasets/docs folder")
    parser.add_argument("--files", default="", help="comma-separated names (default: all)")
    parser.add_argument("--save", type=Path, default=None, help="write the texts (JSON)")
    parser.add_argument("--compare", type=Path, default=None, help="texts of an earlier run")
    args = parser.parse_args()
    docs = args.datasets or _default_docs()
    names = tuple(args.files.split(",")) if args.files else SCANS + IMAGES

    import chatkb

    print(f"chatkb from {Path(chatkb.__file__).parent}; load: {load_average()}")
    _record_stages()
    start = time.perf_counter()
    _load(docs / "zh_image_textbox.jpg")  # builds and warms the OCR engine
    print(f"OCR engine start-up: {time.perf_counter() - start:.2f} s")
    texts: dict[str, str] = {}
    earlier = json.loads(args.compare.read_text()) if args.compare else {}
    total_pages, total_wall, total_cpu = 0, 0.0, 0.0
    print(f"{'file':34} pages  wall s  CPU s  pages/s  pages/CPU-s  ocr  det/cls/rec s  similar")
    for name in names:
        _STAGES.clear()
        pages, wall, cpu, text = _load(docs / name)
        texts[name] = text
        stages = [sum(call[i] for call in _STAGES) for i in range(3)]
        similar = ""
        if name in earlier:
            similar = f"{difflib.SequenceMatcher(None, earlier[name], text).ratio():.3f}"
        print(
            f"{name:34} {pages:5} {wall:7.2f} {cpu:6.2f} {pages / wall:8.3f} {pages / cpu:12.3f}"
            f" {len(_STAGES):4}  {stages[0]:.2f}/{stages[1]:.2f}/{stages[2]:.2f}  {similar}"
        )
        total_pages, total_wall, total_cpu = total_pages + pages, total_wall + wall, total_cpu + cpu
    print(
        f"{'total':34} {total_pages:5} {total_wall:7.2f} {total_cpu:6.2f}"
        f" {total_pages / total_wall:8.3f} {total_pages / total_cpu:12.3f}"
    )
    print(f"load: {load_average()}")
    if args.save:
        args.save.write_text(json.dumps(texts, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
