#!/usr/bin/env bash
# chatkb on a GPU machine without internet: `chatkb doctor --json`, then a CUDA embedding
# through chatkb's sentence-transformers embedder, printing the device it really ran on.
#
# Two steps:
#   1. Where pip reaches PyPI, in the repository root:
#        bash scripts/gpu_check.sh --prepare
#      downloads (for CPython 3.12, x86-64 Linux) the few wheels chatkb needs that a CUDA
#      PyTorch image usually lacks (pydantic, pydantic-settings, rjieba, …) into .gpu-wheels/.
#      Keep that folder out of git (add /.gpu-wheels/ to .git/info/exclude).
#   2. On the GPU machine (Python 3.12 with torch, sentence-transformers and nvidia-ml-py
#      installed), in the repository root with .gpu-wheels/ beside it:
#        OUT=/some/folder bash scripts/gpu_check.sh
#      writes doctor.json, doctor.txt, embed.json and gpu_check.log under $OUT.
# Needs no network on the GPU machine and takes well under four minutes (most of it
# importing torch). The embedding model is a tiny randomly initialised BERT built on the
# spot: no weights can be downloaded there, and the point is where it runs, not what it says.
set -euo pipefail
cd "$(dirname "$0")/.."

WHEELS=.gpu-wheels
PYTHON="${PYTHON:-python3}"
# Pinned to the versions the project's own tests run with.
NEEDED=(
    "pydantic==2.14.4" "pydantic-core==2.50.5" "pydantic-settings==2.16.3"
    "python-dotenv==1.2.4" "annotated-types==0.8.0" "typing-inspection==0.4.5"
    "typing-extensions==4.16.0" "snowballstemmer==3.1.1" "pystemmer==3.1.0" "rjieba==0.2.2"
)

prepare() {
    mkdir -p "$WHEELS"
    "$PYTHON" -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d "$WHEELS" "${NEEDED[@]}"
    du -sh "$WHEELS"
    echo "now carry $WHEELS to the GPU machine and run: OUT=<folder> bash scripts/gpu_check.sh"
}

check() {
    OUT="${OUT:?set OUT to the folder for the results}"
    mkdir -p "$OUT"
    exec > >(tee "$OUT/gpu_check.log") 2>&1
    local site=/tmp/chatkb-site
    if compgen -G "$WHEELS/*.whl" >/dev/null; then
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$WHEELS"/*.whl
    fi
    # chatkb itself from this checkout; its other dependencies must already be there.
    export PYTHONPATH="$PWD/src:$site${PYTHONPATH:+:$PYTHONPATH}"
    export CHATKB_HOME=/tmp/chatkb-home CHATKB_EMBEDDER__THREADS=4
    nvidia-smi || true
    "$PYTHON" - <<'EOF'
import importlib.metadata as m
for name in ("torch", "sentence-transformers", "nvidia-ml-py", "onnxruntime", "chatkb"):
    try:
        print(f"{name} {m.version(name)}")
    except m.PackageNotFoundError:
        print(f"{name} not installed")
EOF
    local model=/tmp/chatkb-tiny-st
    "$PYTHON" - "$model" <<'EOF'
import sys
from pathlib import Path
from sentence_transformers import SentenceTransformer, models
from transformers import BertConfig, BertModel, BertTokenizerFast

root = Path(sys.argv[1])
raw = root / "bert"
raw.mkdir(parents=True, exist_ok=True)
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"abcdefghijklmnopqrstuvwxyz0123456789"]
(raw / "vocab.txt").write_text("\n".join(vocab) + "\n")
BertTokenizerFast(str(raw / "vocab.txt")).save_pretrained(raw)
config = BertConfig(vocab_size=len(vocab), hidden_size=64, num_hidden_layers=2,
                    num_attention_heads=2, intermediate_size=128)
BertModel(config).save_pretrained(raw)
word = models.Transformer(str(raw))
SentenceTransformer(modules=[word, models.Pooling(word.get_word_embedding_dimension())]).save(
    str(root / "st"))
print(f"tiny sentence-transformers model at {root / 'st'}")
EOF
    export CHATKB_EMBEDDER__NAME=sentence-transformers CHATKB_EMBEDDER__MODEL="$model/st"
    export CHATKB_EMBEDDER__DEVICE=cuda
    local code=0
    "$PYTHON" -c 'from chatkb.cli.main import run; run()' doctor --json >"$OUT/doctor.json" || code=$?
    echo "chatkb doctor --json exit code: $code"
    "$PYTHON" -c 'from chatkb.cli.main import run; run()' doctor >"$OUT/doctor.txt" || true
    cat "$OUT/doctor.txt"
    "$PYTHON" - "$OUT/embed.json" <<'EOF'
import json, sys, time
import torch
from chatkb.embedders import make_embedder
from chatkb.settings import load_settings

from chatkb.errors import ChatkbError

settings = load_settings()
try:
    embedder = make_embedder("sentence-transformers", settings.embedder)
except ChatkbError as exc:  # device 'cuda' that cannot be honoured: the error is the result
    json.dump({"error": exc.message}, open(sys.argv[1], "w"), indent=2)
    sys.exit(f"embedding on CUDA refused: {exc.message}")
texts = ["年假有几天？", "How many days of annual leave?"] * 32
start = time.perf_counter()
vectors = embedder.embed(texts, "passage")
torch.cuda.synchronize()
report = {
    "embedder": embedder.name,
    "reported_device": embedder.device,
    "weights_device": str(next(embedder._model.parameters()).device),
    "cuda_device_name": torch.cuda.get_device_name(0),
    "torch": torch.__version__,
    "torch_cuda": torch.version.cuda,
    "vectors": list(vectors.shape),
    "seconds": round(time.perf_counter() - start, 3),
    "cuda_memory_allocated_bytes": torch.cuda.memory_allocated(),
}
print(json.dumps(report, indent=2))
json.dump(report, open(sys.argv[1], "w"), indent=2)
EOF
}

if [[ "${1:-}" == "--prepare" ]]; then
    prepare
else
    check
fi
