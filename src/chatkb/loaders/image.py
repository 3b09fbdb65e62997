"""Images through OCR (RapidOCR): transparency flattened onto white first."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from chatkb.errors import LoadError
from chatkb.loaders import register_loader
from chatkb.loaders.base import LoaderOptions
from chatkb.models import Block, LoadedDocument

if TYPE_CHECKING:
    from PIL.Image import Image

_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")


@register_loader(*_EXTENSIONS)
class ImageLoader:
    """One block per paragraph of recognised text; a multi-page TIFF gives one page per
    frame (other animated formats: the first frame only)."""

    def load(self, path: Path, options: LoaderOptions) -> LoadedDocument:
        if not options.ocr:
            raise LoadError("images are read by OCR, which is turned off")
        from chatkb.loaders._ocr import ocr_blocks

        blocks: list[Block] = []
        frames = list(_frames(path))
        for number, frame in enumerate(frames, 1):
            page = number if len(frames) > 1 else None
            blocks.extend(ocr_blocks(frame, page=page))
        if not blocks:
            raise LoadError("no text found in the image by OCR")
        return LoadedDocument(tuple(blocks), file_type=path.suffix.lower().lstrip("."))


def _frames(path: Path, max_frames: int = 200) -> list[Image]:
    from PIL import Image as PilImage
    from PIL import UnidentifiedImageError

    from chatkb.loaders._ocr import MAX_PIXELS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PilImage.DecompressionBombWarning)
            with PilImage.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise LoadError(f"image is {width}x{height} pixels, too large to OCR")
                frames = []
                count = getattr(image, "n_frames", 1) if image.format == "TIFF" else 1
                for index in range(min(count, max_frames)):
                    image.seek(index)
                    frames.append(image.copy())
                return frames
    except UnidentifiedImageError:
        raise LoadError("not an image PIL can read (wrong extension, or damaged)") from None
    except (PilImage.DecompressionBombWarning, PilImage.DecompressionBombError):
        raise LoadError("image is too large to decode (decompression bomb)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise LoadError(f"damaged or truncated image: {exc}") from None
