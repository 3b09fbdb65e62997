"""What the benchmark scripts share: where the datasets are and how busy the machine is.

The scripts run as ``python benchmarks/NAME.py``, so this folder is on the path and they
import it as ``_common``.
"""

from __future__ import annotations

import os
from pathlib import Path

# Dataset images every loader and OCR benchmark reads (../shared/datasets/docs).
IMAGES = (
    "zh_image_chi_sim.jpeg",
    "zh_image_textbox.jpg",
    "zh_image_promo_banner.jpg",
    "zh_image_transparent_text.png",
    "en_image_table.png",
    "en_image_layout_parser_table.jpg",
)


def datasets_root() -> Path:
    """``$CHATKB_DATASETS``, or ../shared/datasets beside the checkout."""
    configured = os.environ.get("CHATKB_DATASETS")
    return (
        Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared/datasets"
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, printed with every figure."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())
