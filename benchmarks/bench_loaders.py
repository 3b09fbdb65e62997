"""Loader throughput on the dataset files: text-PDF pages/s and OCR pages/s.

    python benchmarks/bench_loaders.py [--threads 1] [--repeat 5] [--datasets DIR]

Runs in one process, one file at a time. OCR uses ``--threads`` ONNX Runtime threads
(default 1, i.e. single-threaded); the engine is built and warmed up before timing, and
its start-up time is printed separately.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _common import IMAGES, datasets_root

from chatkb.loaders import LoaderOptions, load_file

TEXT_PDFS = (
    "en_text_layout_parser_paper.pdf",
    "en_text_amt_handbook_sample.pdf",
    "zh_text_pumpkin_book_excerpt.pdf",
    "zh_mixed_text_and_image.pdf",
)
SCANS = ("zh_scanned_small_ocr.pdf", "en_scanned_image.pdf")


def _default_docs() -> Path:
    return datasets_root() / "docs"


def _pages(path: Path, options: LoaderOptions) -> tuple[int, float]:
    """(pages, seconds) for one load; an image counts as one page."""
    start = time.perf_counter()
    document = load_file(path, options)
    elapsed = time.perf_counter() - start
    pages = {block.page for block in document.blocks if block.page is not None}
    return max(len(pages), 1), elapsed


def bench(docs: Path, names: tuple[str, ...], options: LoaderOptions, repeat: int) -> float:
    total_pages, total_seconds = 0, 0.0
    for name in names:
        for _ in range(repeat):
            pages, seconds = _pages(docs / name, options)
            total_pages, total_seconds = total_pages + pages, total_seconds + seconds
        print(f"  {name}: {pages} page(s), {seconds:.2f} s per load")
    return total_pages / total_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads for OCR")
    parser.add_argument("--repeat", type=int, default=5, help="loads of each text PDF")
    parser.add_argument("--datasets", type=Path, default=None, help="the datasets/docs folder")
    args = parser.parse_args()
    docs = args.datasets or _default_docs()

    from chatkb.loaders import _ocr

    _ocr.ocr_threads = lambda: args.threads  # type: ignore[assignment]
    options = LoaderOptions()
    start = time.perf_counter()
    load_file(docs / "zh_image_textbox.jpg", options)  # builds and warms the OCR engine
    print(f"OCR engine start-up: {time.perf_counter() - start:.2f} s ({args.threads} thread(s))")

    print("text-layer PDFs:")
    text_rate = bench(docs, TEXT_PDFS, LoaderOptions(ocr=False), args.repeat)
    print("OCR, scanned PDFs:")
    scan_rate = bench(docs, SCANS, options, 1)
    print("OCR, images:")
    image_rate = bench(docs, IMAGES, options, 1)
    print(f"text PDF:        {text_rate:.1f} pages/s")
    print(f"OCR scanned PDF: {scan_rate:.3f} pages/s ({1 / scan_rate:.1f} s/page)")
    print(f"OCR images:      {image_rate:.3f} images/s ({1 / image_rate:.1f} s/image)")


if __name__ == "__main__":
    main()
