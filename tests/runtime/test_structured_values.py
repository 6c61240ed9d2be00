"""Sequences, maps and optionals: scikit-learn classifiers (ZipMap) and If branches that
return a sequence or an optional, run and written the way structured_values documents,
checked against onnxruntime's own outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto as T
from onnx import helper

from inspector.loaders import load_model
from inspector.runtime.activations import clear_sessions, run_activations
from inspector.runtime.structured_values import class_table

ROOT = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inspector", *args], capture_output=True, text=True,
        timeout=120, cwd=ROOT, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )


def _ort(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, object]:
    import onnxruntime as ort

    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in s.get_outputs()], s.run(None, feeds), strict=True))


@pytest.fixture(scope="module")
def iris() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    x, y = load_iris(return_X_y=True)
    return x.astype(np.float32), y


def _classifier(kind: str, x: np.ndarray, y: np.ndarray):
    pytest.importorskip("skl2onnx")
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    return {
        "logreg": lambda: LogisticRegression(max_iter=500),
        "forest": lambda: RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0),
        "svc": lambda: SVC(probability=True, random_state=0),
    }[kind]().fit(x, y)


@pytest.mark.parametrize("kind", ["logreg", "forest", "svc"])
def test_sklearn_zipmap_run_matches_onnxruntime(kind, iris, tmp_path):
    from skl2onnx import to_onnx

    x, y = iris
    clf = _classifier(kind, x, y)
    path = tmp_path / f"{kind}.onnx"
    path.write_bytes(to_onnx(clf, x[:1]).SerializeToString())
    batch = x[[0, 60, 120]]
    np.save(tmp_path / "in.npy", batch)
    out = tmp_path / "acts.npz"
    proc = _cli("run", str(path), "--input", str(tmp_path / "in.npy"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr

    ref = _ort(path, {"X": batch})
    zipmap = ref["output_probability"]  # a list of {class: probability}, one per sample
    assert isinstance(zipmap, list) and len(zipmap) == 3
    with np.load(out) as npz:
        np.testing.assert_array_equal(npz["output_label"], ref["output_label"])
        labels = npz["output_probability/labels"]
        probs = npz["output_probability/probabilities"]
    np.testing.assert_array_equal(labels, [0, 1, 2])
    expect = np.array([[m[c] for c in (0, 1, 2)] for m in zipmap])
    np.testing.assert_array_equal(probs, expect)
    # Independent of onnxruntime: scikit-learn's own probabilities.
    np.testing.assert_allclose(probs, clf.predict_proba(batch), atol=1e-4)
    np.testing.assert_array_equal(npz_labels := np.argmax(probs, 1), clf.predict(batch))
    assert npz_labels.shape == (3,)


def test_zipmap_class_table_for_the_output_tab(iris, tmp_path):
    from skl2onnx import to_onnx

    x, y = iris
    clf = _classifier("logreg", x, y)
    path = tmp_path / "lr.onnx"
    path.write_bytes(to_onnx(clf, x[:1]).SerializeToString())
    clear_sessions()
    result = run_activations(load_model(path), {"X": x[[120]]})
    value = result.structured["output_probability"]
    assert value.kind == "sequence_of_maps"
    rows = class_table(value)
    expect = clf.predict_proba(x[[120]])[0]
    assert [r[0] for r in rows] == [str(i) for i in np.argsort(-expect)]
    np.testing.assert_allclose([r[1] for r in rows], np.sort(expect)[::-1], atol=1e-4)
    assert value.summary()["labels"] == ["0", "1", "2"]


def _if_model(path: Path, then_graph, else_graph, out_vi, extra_node, extra_out) -> Path:
    g = helper.make_graph(
        [
            helper.make_node("ReduceSum", ["x"], ["s"], keepdims=0),
            helper.make_node("Greater", ["s", "zero"], ["cond"]),
            helper.make_node("If", ["cond"], [out_vi.name], then_branch=then_graph,
                             else_branch=else_graph),
            extra_node,
        ],
        "if_model", [helper.make_tensor_value_info("x", T.FLOAT, [3])], [out_vi, extra_out],
        initializer=[helper.make_tensor("zero", T.FLOAT, [], [0.0])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, str(path))
    return path


def _seq_branch(name: str, rows: list[list[float]]):
    nodes = [
        helper.make_node("Constant", [], [f"{name}_c{i}"],
                         value=helper.make_tensor(f"{name}_t{i}", T.FLOAT, [2], v))
        for i, v in enumerate(rows)
    ]
    nodes.append(helper.make_node("SequenceConstruct", [n.output[0] for n in nodes], [f"{name}_s"]))
    return helper.make_graph(nodes, name, [], [
        helper.make_tensor_sequence_value_info(f"{name}_s", T.FLOAT, None)])


_OPT_T = helper.make_optional_type_proto(helper.make_tensor_type_proto(T.FLOAT, [2]))


def _opt_branch(name: str, present: bool):
    if present:
        nodes = [
            helper.make_node("Constant", [], [f"{name}_c"],
                             value=helper.make_tensor(f"{name}_t", T.FLOAT, [2], [7, 8])),
            helper.make_node("Optional", [f"{name}_c"], [f"{name}_o"]),
        ]
    else:
        nodes = [helper.make_node("Optional", [], [f"{name}_o"],
                                  type=helper.make_tensor_type_proto(T.FLOAT, [2]))]
    return helper.make_graph(nodes, name, [], [helper.make_value_info(f"{name}_o", _OPT_T)])


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_if_returning_a_sequence(sign, tmp_path):
    path = _if_model(
        tmp_path / "if_seq.onnx", _seq_branch("then", [[1, 2], [3, 4]]),
        _seq_branch("else", [[5, 6]]),
        helper.make_tensor_sequence_value_info("seq", T.FLOAT, None),
        helper.make_node("SequenceLength", ["seq"], ["n"]),
        helper.make_tensor_value_info("n", T.INT64, []),
    )
    x = np.full(3, sign, np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "o.npz"
    proc = _cli("run", str(path), "--input", str(tmp_path / "x.npy"), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    ref = _ort(path, {"x": x})
    with np.load(out) as npz:
        keys = sorted(k for k in npz.files if k.startswith("seq/"))
        assert keys == [f"seq/{i}" for i in range(len(ref["seq"]))]
        for i, arr in enumerate(ref["seq"]):
            np.testing.assert_array_equal(npz[f"seq/{i}"], arr)
        assert int(npz["n"]) == len(ref["seq"])


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_if_returning_an_optional(sign, tmp_path):
    path = _if_model(
        tmp_path / "if_opt.onnx", _opt_branch("then", True), _opt_branch("else", False),
        helper.make_value_info("opt", _OPT_T),
        helper.make_node("OptionalHasElement", ["opt"], ["has"]),
        helper.make_tensor_value_info("has", T.BOOL, []),
    )
    x = np.full(3, sign, np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "o.npz"
    proc = _cli("run", str(path), "--input", str(tmp_path / "x.npy"), "-o", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    ref = _ort(path, {"x": x})
    with np.load(out) as npz:
        assert bool(npz["has"]) is (ref["opt"] is not None)
        if ref["opt"] is None:
            assert "opt" not in npz.files and npz["opt/none"].size == 0
        else:
            np.testing.assert_array_equal(npz["opt"], ref["opt"])
            assert "opt/none" not in npz.files
