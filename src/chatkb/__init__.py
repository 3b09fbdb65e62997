"""chatkb: offline knowledge-base question answering with cited sources."""

import os

# Before numpy loads: its BLAS threads spin after every product, and on a small machine they
# starve the embedder's threads (a query took 43 ms instead of 17 on 2 cores with a
# 2,900-row dense matrix). Dense search is one matrix-vector product, memory-bound, so a
# single BLAS thread loses little. An operator's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__all__ = ["__version__"]

__version__ = "0.1.0"
