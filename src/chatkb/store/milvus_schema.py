"""The three Milvus collections of a knowledge base: documents, chunks (text + BM25), windows
(one vector per embedded text). Reads are ``Strong`` so a write is seen by the next search."""

from __future__ import annotations

from typing import Any

_LONG = 65535


def create_collections(client: Any, prefix: str, dim: int, lite: bool) -> None:
    from pymilvus import DataType, Function, FunctionType

    documents = client.create_schema(auto_id=False, enable_dynamic_field=False)
    documents.add_field("source", DataType.VARCHAR, is_primary=True, max_length=4096)
    documents.add_field("doc_id", DataType.VARCHAR, max_length=64)
    documents.add_field("version", DataType.INT64)
    documents.add_field("record", DataType.VARCHAR, max_length=_LONG)
    documents.add_field("dummy", DataType.FLOAT_VECTOR, dim=2)  # Milvus needs a vector field
    _create(client, f"{prefix}_documents", documents, [("dummy", "FLAT", "L2")])

    chunks = client.create_schema(auto_id=False, enable_dynamic_field=False)
    chunks.add_field("key", DataType.INT64, is_primary=True)
    for name, length in (("chunk_id", 64), ("doc_id", 64), ("source", 4096), ("text_hash", 64)):
        chunks.add_field(name, DataType.VARCHAR, max_length=length)
    for name in ("version", "idx", "start", "end", "page"):
        chunks.add_field(name, DataType.INT64)
    for name in ("text", "heading_path", "windows"):
        chunks.add_field(name, DataType.VARCHAR, max_length=_LONG)
    chunks.add_field(
        "tokens",
        DataType.VARCHAR,
        max_length=_LONG,
        enable_analyzer=True,
        analyzer_params={"tokenizer": "standard"},  # tokens arrive whole (milvus_store.py)
    )
    chunks.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    chunks.add_function(
        Function(
            name="bm25",
            function_type=FunctionType.BM25,
            input_field_names=["tokens"],
            output_field_names=["sparse"],
        )
    )
    _create(client, f"{prefix}_chunks", chunks, [("sparse", "SPARSE_INVERTED_INDEX", "BM25")])

    windows = client.create_schema(auto_id=False, enable_dynamic_field=False)
    windows.add_field("id", DataType.INT64, is_primary=True)
    windows.add_field("chunk_key", DataType.INT64)
    for name, length in (("doc_id", 64), ("source", 4096), ("text_hash", 64)):
        windows.add_field(name, DataType.VARCHAR, max_length=length)
    windows.add_field("version", DataType.INT64)
    windows.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    # Milvus Lite has exact (FLAT) search; a server builds HNSW.
    vector_index = "FLAT" if lite else "HNSW"
    _create(client, f"{prefix}_windows", windows, [("vector", vector_index, "COSINE")])


def _create(client: Any, name: str, schema: Any, indexes: list[tuple[str, str, str]]) -> None:
    if client.has_collection(name):
        return
    params = client.prepare_index_params()
    for field, index_type, metric in indexes:
        extra = {"M": 16, "efConstruction": 200} if index_type == "HNSW" else {}
        params.add_index(field, index_type=index_type, metric_type=metric, params=extra)
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong")
