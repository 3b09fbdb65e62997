"""``/v1/embeddings`` input given as token ids, turned back into text.

OpenAI clients may send token ids instead of text: LangChain's ``OpenAIEmbeddings`` does by
default, with tiktoken's ``cl100k_base`` ids (the encoding of OpenAI's embedding models). The
ids are decoded with tiktoken when that encoding can be loaded here (offline that needs
tiktoken's cache, ``TIKTOKEN_CACHE_DIR``, which the client needed too), else with the
embedder's own tokenizer when it has one (sentence-transformers models); otherwise the request
is refused with what to send instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import tempfile
from functools import cache
from typing import Any

from chatkb.embedders import Embedder
from chatkb.errors import UnsupportedOptionError

log = logging.getLogger(__name__)
CL100K_BLOB = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
NO_DECODER = (
    "token-id input cannot be decoded here: neither tiktoken's cl100k_base encoding nor a "
    "tokenizer of the embedder {name!r} is available; send text (LangChain: "
    "OpenAIEmbeddings(check_embedding_ctx_length=False))"
)


def input_texts(value: str | list[Any], embedder: Embedder, model: str) -> list[str]:
    """The texts of an embeddings ``input``: a text, texts, token ids or lists of them."""
    if isinstance(value, str):
        return [value]
    if not value or isinstance(value[0], str):
        return [str(v) for v in value]
    rows: list[list[int]] = [value] if isinstance(value[0], int) else value  # type: ignore[assignment]
    decode = _decoder(embedder)
    return [decode(row) for row in rows]


def _decoder(embedder: Embedder) -> Any:
    encoding = _tiktoken()
    if encoding is not None:
        return encoding.decode
    tokenizer = getattr(getattr(embedder, "_model", None), "tokenizer", None)
    if tokenizer is not None and hasattr(tokenizer, "decode"):
        return lambda ids: tokenizer.decode(ids, skip_special_tokens=True)
    raise UnsupportedOptionError(NO_DECODER.format(name=embedder.name))


@cache
def _tiktoken() -> Any:
    """tiktoken's encoding when its file is in tiktoken's cache; never a download."""
    if not _tiktoken_cached():
        return None
    try:
        import tiktoken

        return tiktoken.get_encoding("cl100k_base")
    except Exception as exc:  # a damaged cache file
        log.info("tiktoken's cl100k_base could not be loaded: %s", exc)
        return None


def _tiktoken_cached() -> bool:
    # Where tiktoken itself looks (tiktoken/load.py): the SHA-1 of the file's address.
    cache_dir = (
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    )
    key = hashlib.sha1(CL100K_BLOB.encode()).hexdigest()
    return importlib.util.find_spec("tiktoken") is not None and os.path.isfile(
        os.path.join(cache_dir, key)
    )
