"""Backpropagation speed at scale (issue 12), as ratios measured in one run.

1. MobileNetV2 224 and ResNet50 (keras.applications, weights=None, saved as .keras by Keras):
   the app's engine (the lowering to ONNX, onnxruntime forward, numpy reverse sweep) against
   TensorFlow's GradientTape on the same file and input. Budget: at most 1.5x.
2. BERT-base (12 layers, hidden 768, 12 heads, seq 128, random weights), built in ONNX the way
   a PyTorch export lays it out: backprop against one forward pass with every intermediate
   captured (the Activations run). Budget: at most 3x. Measured twice: cold (the backprop
   runs the forward itself) and right after the Activations run of the same input, whose
   values the backprop reuses (the app's flow). Then the floor: the backward's bare matrix
   products on the model's shapes, which no engine on this CPU goes below.
3. Chains of 1k / 10k / 100k nodes: seconds per node of each phase (loading the IR, the
   forward session, the reverse sweep) must stay flat: no step grows faster than linearly.

Warm figures (median of `--rounds`, after one untimed call) are what a user re-running a
backprop waits for; the first call's figure is printed too.
Run: python -m tests.benchmarks.bench_grad_scale [--rounds N] [--skip keras,bert,chain]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
WORK = Path("/tmp/model-inspector-bench/grad")


def _timed(fn, rounds: int) -> tuple[float, float]:
    """(first call, median of `rounds` warm calls) in seconds."""
    t = time.perf_counter()
    fn()
    first = time.perf_counter() - t
    warm = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - t)
    return first, statistics.median(warm)


def keras_apps(rounds: int) -> None:
    import keras

    from inspector.autodiff import compute_gradients
    from inspector.loaders.registry import load_model

    WORK.mkdir(parents=True, exist_ok=True)
    for name in ("MobileNetV2", "ResNet50"):
        path = WORK / f"{name}.keras"
        if not path.exists():
            keras.utils.set_random_seed(0)
            getattr(keras.applications, name)(weights=None, input_shape=(224, 224, 3)).save(path)
        model = load_model(path)
        x = np.random.default_rng(0).uniform(-1, 1, (1, 224, 224, 3)).astype("float32")
        feeds = {model.graph.inputs[0]: x}
        res = {}

        def run(engine: str, res: dict = res, model=model, feeds=feeds) -> None:
            res[engine] = compute_gradients(model, feeds, target=3, engine=engine)

        ours = _timed(lambda: run("auto"), rounds)
        tape = _timed(lambda: run("gradienttape"), rounds)
        a, b = res["auto"], res["gradienttape"]
        g_a, g_b = a.values[model.graph.inputs[0]], b.values[model.graph.inputs[0]]
        rel = float(np.abs(g_a - g_b).max() / np.abs(g_b).max())
        print(f"{name}: engine {a.engine} {ours[1]:.3f} s (first {ours[0]:.2f}), "
              f"GradientTape {tape[1]:.3f} s (first {tape[0]:.2f}); ratio "
              f"{ours[1] / tape[1]:.2f}x (budget 1.5x); loss {a.loss:.6f} vs {b.loss:.6f}, "
              f"input-gradient max rel diff {rel:.1e}", flush=True)


def bert_base(path: Path, layers: int = 12, hidden: int = 768, heads: int = 12,
              ff: int = 3072, seq: int = 128, vocab: int = 30522) -> Path:
    """A BERT-base encoder in ONNX as torch.onnx lays one out (opset 17, random weights)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if path.exists():
        return path
    rng = np.random.default_rng(0)
    inits: list = []
    nodes: list = []

    def w(name: str, *shape: int, scale: float = 0.02) -> str:
        inits.append(numpy_helper.from_array(
            (rng.standard_normal(shape) * scale).astype(np.float32), name))
        return name

    def c(name: str, value) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, ins: list[str], out: str, **attrs) -> str:
        nodes.append(helper.make_node(kind, ins, [out], name=f"/{out}", **attrs))
        return out

    def ln(x: str, name: str) -> str:
        return op("LayerNormalization", [x, c(f"{name}.g", np.ones(hidden, np.float32)),
                                          c(f"{name}.b", np.zeros(hidden, np.float32))],
                  f"{name}.out", axis=-1, epsilon=1e-12)

    def dense(x: str, name: str, n_in: int, n_out: int) -> str:
        y = op("MatMul", [x, w(f"{name}.weight", n_in, n_out)], f"{name}.mm")
        return op("Add", [y, c(f"{name}.bias", np.zeros(n_out, np.float32))], f"{name}.out")

    dh = hidden // heads
    split = c("split_heads", np.array([1, seq, heads, dh], np.int64))
    merge = c("merge_heads", np.array([1, seq, hidden], np.int64))
    emb = op("Gather", [w("word_embeddings", vocab, hidden), "input_ids"], "words")
    emb = op("Add", [emb, w("position_embeddings", 1, seq, hidden)], "emb.pos")
    emb = op("Add", [emb, w("token_type_embeddings", 1, 1, hidden)], "emb.type")
    h = ln(emb, "emb.ln")
    mask = op("Cast", ["attention_mask"], "mask.f", to=TensorProto.FLOAT)
    mask = op("Sub", [c("one", np.float32(1)), mask], "mask.inv")
    mask = op("Mul", [mask, c("neg", np.float32(-10000.0))], "mask.add")
    mask = op("Unsqueeze", [mask, c("mask_axes", np.array([1, 2], np.int64))], "mask.4d")
    for i in range(layers):
        p = f"l{i}"

        def heads_of(x: str, tag: str, perm: list[int], p: str = p) -> str:
            r = op("Reshape", [x, split], f"{p}.{tag}.r")
            return op("Transpose", [r], f"{p}.{tag}.t", perm=perm)

        q = heads_of(dense(h, f"{p}.q", hidden, hidden), "q", [0, 2, 1, 3])
        k = heads_of(dense(h, f"{p}.k", hidden, hidden), "k", [0, 2, 3, 1])
        v = heads_of(dense(h, f"{p}.v", hidden, hidden), "v", [0, 2, 1, 3])
        s = op("MatMul", [q, k], f"{p}.scores")
        s = op("Div", [s, c(f"{p}.sqrt_d", np.float32(np.sqrt(dh)))], f"{p}.scaled")
        s = op("Add", [s, mask], f"{p}.masked")
        a = op("Softmax", [s], f"{p}.probs", axis=-1)
        ctx = op("MatMul", [a, v], f"{p}.ctx")
        ctx = op("Transpose", [ctx], f"{p}.ctx.t", perm=[0, 2, 1, 3])
        ctx = op("Reshape", [ctx, merge], f"{p}.ctx.r")
        h = ln(op("Add", [dense(ctx, f"{p}.o", hidden, hidden), h], f"{p}.res1"), f"{p}.ln1")
        f = dense(h, f"{p}.ff1", hidden, ff)
        # GELU as torch exports it: x * 0.5 * (1 + erf(x / sqrt 2))
        e = op("Erf", [op("Div", [f, c(f"{p}.sqrt2", np.float32(np.sqrt(2)))], f"{p}.gd")],
               f"{p}.erf")
        e = op("Add", [e, c(f"{p}.one", np.float32(1))], f"{p}.erf1")
        g = op("Mul", [op("Mul", [f, e], f"{p}.gm"), c(f"{p}.half", np.float32(0.5))], f"{p}.gelu")
        h = ln(op("Add", [dense(g, f"{p}.ff2", ff, hidden), h], f"{p}.res2"), f"{p}.ln2")
    cls = op("Gather", [h, c("cls_index", np.int64(0))], "cls", axis=1)
    pooled = op("Tanh", [dense(cls, "pooler", hidden, hidden)], "pooled")
    op("Gemm", [pooled, w("classifier.weight", 2, hidden), c("classifier.bias",
       np.zeros(2, np.float32))], "logits", transB=1)
    graph = helper.make_graph(
        nodes, "bert_base",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, seq]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, seq])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path, save_as_external_data=True, location=path.name + ".data")
    return path


def bert(rounds: int) -> None:
    from inspector.autodiff import compute_gradients
    from inspector.loaders.registry import load_model
    from inspector.runtime import last_run
    from inspector.runtime.activations import run_activations

    model = load_model(bert_base(WORK / "bert_base.onnx"))
    rng = np.random.default_rng(0)
    feeds = {"input_ids": rng.integers(0, 30522, (1, 128)).astype(np.int64),
             "attention_mask": np.ones((1, 128), np.int64)}
    holder = {}
    fwd = _timed(lambda: holder.update(a=run_activations(model, feeds)), rounds)

    def cold() -> None:  # no Activations run to reuse: the backprop runs the forward itself
        holder.pop("a", None)
        last_run.forget()
        holder.update(g=compute_gradients(model, feeds, target=1))

    bwd = _timed(cold, rounds)
    # The app's flow: the Activations tab ran this input, then Gradients reuses its values.
    after = []
    for _ in range(rounds + 1):
        holder.update(a=run_activations(model, feeds))
        t = time.perf_counter()
        holder.update(g=compute_gradients(model, feeds, target=1))
        after.append(time.perf_counter() - t)
    reuse = statistics.median(after[1:])
    g = holder["g"]
    table = next((k for k in g.values if k.startswith("/words/")), None)
    table_sum = float(np.abs(g.values[table]).sum()) if table else float("nan")
    print(f"BERT-base seq 128 ({len(model.graph.nodes)} nodes, {len(holder['a'].values)} values "
          f"captured): forward with every intermediate {fwd[1]:.3f} s (first {fwd[0]:.2f}), "
          f"backprop {bwd[1]:.3f} s (first {bwd[0]:.2f}): ratio {bwd[1] / fwd[1]:.2f}x "
          f"(budget 3x); {len(g.values)} gradients, uncovered {g.uncovered or 'none'}, "
          f"sum |d loss / d {table}| = {table_sum:.4g}", flush=True)
    print(f"  backprop right after the Activations run of this input (its forward values "
          f"reused, the app's flow): {reuse:.3f} s: ratio {reuse / fwd[1]:.2f}x", flush=True)
    floor = backward_gemm_floor(WORK / "bert_base.onnx", rounds)
    print(f"  the backward pass's matrix products alone (numpy BLAS, same shapes, fastest of "
          f"{rounds + 2}): {floor:.3f} s; "
          f"with one forward that is {(fwd[1] + floor) / fwd[1]:.2f}x the forward before any "
          f"element-wise work", flush=True)


def backward_gemm_floor(path: Path, rounds: int) -> float:
    """Seconds for the bare products a backward pass of `path`'s MatMuls must do (dA = dY B^T,
    dB = A^T dY per product, with numpy's BLAS on random arrays of the model's shapes): the
    time no engine on this CPU goes below, element-wise work and the forward aside."""
    import onnx

    proto = onnx.shape_inference.infer_shapes(onnx.load(str(path), load_external_data=False))
    shapes = {t.name: tuple(t.dims) for t in proto.graph.initializer}
    for vi in [*proto.graph.value_info, *proto.graph.input, *proto.graph.output]:
        shapes[vi.name] = tuple(d.dim_value for d in vi.type.tensor_type.shape.dim)
    rng = np.random.default_rng(0)
    pairs = []
    for node in proto.graph.node:
        if node.op_type == "MatMul":
            a = rng.standard_normal(shapes[node.input[0]], dtype=np.float32)
            b = rng.standard_normal(shapes[node.input[1]], dtype=np.float32)
            pairs.append((a, b, a @ b))

    def products() -> None:
        for a, b, y in pairs:
            if b.ndim == 2:
                g = y.reshape(-1, b.shape[1])
                _ = g @ b.T, a.reshape(-1, b.shape[0]).T @ g
            else:
                _ = y @ np.swapaxes(b, -1, -2), np.swapaxes(a, -1, -2) @ y

    best = float("inf")
    for _ in range(rounds + 2):  # a floor: the fastest of several, fresh pages cost here
        t = time.perf_counter()
        products()
        best = min(best, time.perf_counter() - t)
    return best


def chain(path: Path, n: int) -> Path:
    """n nodes: Tanh, Mul by a weight, Add a weight, repeated, on a [1, 16] float tensor."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if path.exists():
        return path
    rng = np.random.default_rng(0)
    nodes, inits, x = [], [], "x"
    kinds = ("Tanh", "Mul", "Add")
    for i in range(n):
        kind, out = kinds[i % 3], f"v{i}"
        ins = [x]
        if kind != "Tanh":
            inits.append(numpy_helper.from_array(
                (1 + 0.01 * rng.standard_normal(16)).astype(np.float32), f"w{i}"))
            ins.append(f"w{i}")
        nodes.append(helper.make_node(kind, ins, [out], name=f"n{i}"))
        x = out
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, [1, 16])], [helper.make_tensor_value_info(
            x, TensorProto.FLOAT, [1, 16])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def chains(sizes: list[int]) -> None:
    from inspector.autodiff import compute_gradients
    from inspector.autodiff.sweep import backward
    from inspector.loaders.registry import load_model
    from inspector.runtime.activations import clear_sessions, session_for

    WORK.mkdir(parents=True, exist_ok=True)
    x = {"x": np.random.default_rng(0).standard_normal((1, 16)).astype(np.float32)}
    for n in sizes:
        path = chain(WORK / f"chain_{n}.onnx", n)
        clear_sessions()
        t0 = time.perf_counter()
        model = load_model(path)
        t1 = time.perf_counter()
        session_for(model.path)
        t2 = time.perf_counter()
        sw = backward(model, x, loss="mse", target=0.0)
        t3 = time.perf_counter()
        res = compute_gradients(model, x, target=0.0, loss="mse")
        t4 = time.perf_counter()
        per = [1e6 * d / n for d in (t1 - t0, t2 - t1, t3 - t2, t4 - t3)]
        print(f"chain {n:>6} nodes: load IR {t1 - t0:6.2f} s, session {t2 - t1:6.2f} s, "
              f"sweep {t3 - t2:6.2f} s, whole gradient call {t4 - t3:6.2f} s; per node "
              f"{per[0]:.0f} / {per[1]:.0f} / {per[2]:.0f} / {per[3]:.0f} us; "
              f"{len(sw.grads)} grads, {len(res.values)} keys", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip", default="", help="comma list of keras, bert, chain")
    ap.add_argument("--chains", default="1000,10000,100000")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    if "keras" not in skip:
        keras_apps(args.rounds)
    if "bert" not in skip:
        bert(args.rounds)
    if "chain" not in skip:
        chains([int(s) for s in args.chains.split(",")])


if __name__ == "__main__":
    main()
