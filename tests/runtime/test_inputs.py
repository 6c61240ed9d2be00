"""Input makers and readers: kinds, dims, image layouts, CSV, npz, bad files, absurd shapes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inspector.ir import Attribute, Graph, Model, Node, Tensor, Value, Weight
from inspector.runtime.errors import InputError
from inspector.runtime.images import load_image
from inspector.runtime.input_spec import InputSpec
from inspector.runtime.inputs import input_specs, load_inputs, make_inputs


def model_with(*values: Value, nodes: tuple[Node, ...] = (), inits: dict | None = None) -> Model:
    graph = Graph(
        "g", nodes, {v.name: v for v in values}, tuple(v.name for v in values), (), inits or {}
    )
    return Model("onnx", "mem.onnx", graph)


IMG_NCHW = Value("img", ("batch", 3, 32, 24), "float32")
IMG_NHWC = Value("img", (None, 32, 24, 3), "float32")
GREY_NHWC = Value("img", (None, 32, 24, 1), "float32")
GREY_NCHW = Value("img", (1, 1, 32, 24), "float32")


def test_specs_and_kinds() -> None:
    m = model_with(
        Value("x", ("N", 5), "float32"), Value("ids", ("N", "seq"), "int64"), Value("flag", (2,), "bool")
    )
    specs = input_specs(m)
    assert [s.name for s in specs] == ["x", "ids", "flag"]
    r = make_inputs(m, seed=3)
    assert r["x"].shape == (1, 5) and r["x"].dtype == np.float32
    assert r["ids"].shape == (1, 16) and r["ids"].dtype == np.int64
    assert r["ids"].min() >= 0 and r["ids"].max() < 10
    assert r["flag"].dtype == np.bool_
    # Seeded: same seed same data, other seed other data.
    np.testing.assert_array_equal(make_inputs(m, seed=3)["x"], r["x"])
    assert not np.array_equal(make_inputs(m, seed=4)["x"], r["x"])
    assert all((a == 0).all() for a in make_inputs(m, "zeros").values())
    assert all((a == 1).all() for a in make_inputs(m, "ones").values())
    with pytest.raises(InputError, match="unknown input kind"):
        make_inputs(m, "noise")


def test_dims_override_and_image_range() -> None:
    m = model_with(Value("img", ("batch", 3, "h", "w"), "float32"))
    a = make_inputs(m)["img"]
    assert a.shape == (1, 3, 224, 224)
    assert a.min() >= 0 and a.max() < 1  # uniform [0, 1) for image-like inputs
    b = make_inputs(m, dims={"batch": 2, "h": 8, "img:3": 9})["img"]
    assert b.shape == (2, 3, 8, 9)


def test_vocab_from_embedding_and_gather() -> None:
    emb = Node("emb", "Embedding", inputs=("tok",), outputs=("e",),
               attributes=(Attribute("input_dim", 1000),))
    m = model_with(Value("tok", (None, 12), "int32"), nodes=(emb,))
    assert input_specs(m)[0].vocab == 1000
    t = make_inputs(m, seed=1)["tok"]
    assert t.max() >= 10 and t.max() < 1000 and t.shape == (1, 12)
    table = Tensor("table", (50, 4), "float32", lambda: np.zeros((50, 4), np.float32))
    gather = Node("g", "Gather", inputs=("ids",), outputs=("y",), input_names=("table", "ids"),
                  weights=(Weight("data", table),))
    m2 = model_with(Value("ids", ("N", 7), "int64"), nodes=(gather,), inits={"table": table})
    assert input_specs(m2)[0].vocab == 50


def test_absurd_shapes() -> None:
    huge = model_with(Value("x", (100_000, 100_000), "float32"))
    with pytest.raises(InputError, match="over the limit"):
        make_inputs(huge)
    neg = model_with(Value("x", (1, -5), "float32"))
    with pytest.raises(InputError, match="negative"):
        make_inputs(neg)
    sym = model_with(Value("x", ("N", "seq", 512), "float32"))
    with pytest.raises(InputError, match="over the limit"):
        make_inputs(sym, dims={"seq": 10**9})
    with pytest.raises(InputError):
        make_inputs(sym, dims={"seq": -3})


def _photo(path: Path, w: int = 48, h: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    px = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    Image.fromarray(px).save(path)
    return px


@pytest.mark.parametrize(
    ("value", "shape"),
    [(IMG_NCHW, (1, 3, 32, 24)), (IMG_NHWC, (1, 32, 24, 3)),
     (GREY_NHWC, (1, 32, 24, 1)), (GREY_NCHW, (1, 1, 32, 24))],
)
def test_image_layouts(tmp_path: Path, value: Value, shape: tuple[int, ...]) -> None:
    px = _photo(tmp_path / "p.png")
    arr = load_inputs(tmp_path / "p.png", model_with(value))["img"]
    assert arr.shape == shape and arr.dtype == np.float32
    # Pillow as the oracle for resize and grey conversion.
    mode = "L" if 1 in (shape[1], shape[3]) else "RGB"
    ref = np.asarray(Image.fromarray(px).convert(mode).resize((24, 32), Image.Resampling.BILINEAR),
                     np.float32) / 255
    got = arr[0].transpose(1, 2, 0) if shape[1] in (1, 3) else arr[0]
    np.testing.assert_allclose(got.reshape(ref.shape), ref, atol=1e-6)


def test_image_scalings(tmp_path: Path) -> None:
    _photo(tmp_path / "p.bmp", 24, 32)
    spec = InputSpec("img", (1, 32, 24, 3), "float32")
    a01 = load_image(tmp_path / "p.bmp", spec, "0-1")
    a255 = load_image(tmp_path / "p.bmp", spec, "0-255")
    net = load_image(tmp_path / "p.bmp", spec, "imagenet")
    np.testing.assert_allclose(a255 / 255, a01, atol=1e-6)
    np.testing.assert_allclose(net[..., 0], (a01[..., 0] - 0.485) / 0.229, atol=1e-5)
    u8 = load_image(tmp_path / "p.bmp", InputSpec("img", (1, 32, 24, 3), "uint8"), "0-1")
    assert u8.dtype == np.uint8
    np.testing.assert_array_equal(u8, a255.astype(np.uint8))
    with pytest.raises(InputError, match="scaling"):
        load_image(tmp_path / "p.bmp", spec, "weird")
    with pytest.raises(InputError, match="does not look like an image"):
        load_image(tmp_path / "p.bmp", InputSpec("x", (1, 10), "float32"))


def test_csv_rows(tmp_path: Path) -> None:
    csv = tmp_path / "d.csv"
    csv.write_text("a,b,c,d\n1,2,3,4\n5,6,7,8.5\n")
    m = model_with(Value("x", ("N", 4), "float32"))
    np.testing.assert_array_equal(load_inputs(csv, m)["x"], [[1, 2, 3, 4]])
    np.testing.assert_array_equal(load_inputs(csv, m, row=1)["x"], [[5, 6, 7, 8.5]])
    with pytest.raises(InputError, match="row 5"):
        load_inputs(csv, m, row=5)
    wrong = model_with(Value("x", ("N", 3), "float32"))
    with pytest.raises(InputError, match=r"expects shape Nx3, got 1x4"):
        load_inputs(csv, wrong)
    grid = tmp_path / "g.csv"
    grid.write_text(",".join(str(i) for i in range(12)) + "\n")
    img = load_inputs(grid, model_with(Value("img", (None, 3, 4), "float32")))["img"]
    np.testing.assert_array_equal(img, np.arange(12).reshape(1, 3, 4))


def test_npy_and_npz(tmp_path: Path) -> None:
    single = model_with(Value("x", ("N", 4), "float32"))
    np.save(tmp_path / "a.npy", np.arange(4, dtype=np.float64))
    got = load_inputs(tmp_path / "a.npy", single)["x"]
    assert got.shape == (1, 4) and got.dtype == np.float32  # batch added, cast
    np.savez(tmp_path / "s.npz", np.ones((2, 4)))
    assert load_inputs(tmp_path / "s.npz", single)["x"].shape == (2, 4)
    two = model_with(Value("a", (1, 2), "float32"), Value("b", (1, 3), "int64"))
    np.savez(tmp_path / "k.npz", a=np.zeros((1, 2)), b=np.arange(3))
    got = load_inputs(tmp_path / "k.npz", two)
    assert got["b"].dtype == np.int64 and got["b"].shape == (1, 3)
    np.savez(tmp_path / "miss.npz", a=np.zeros((1, 2)))
    with pytest.raises(InputError, match="no array named 'b'"):
        load_inputs(tmp_path / "miss.npz", two)
    with pytest.raises(InputError, match="2 inputs"):
        load_inputs(tmp_path / "a.npy", two)
    np.save(tmp_path / "bad.npy", np.zeros((1, 5)))
    with pytest.raises(InputError, match=r"expects shape Nx4, got 1x5"):
        load_inputs(tmp_path / "bad.npy", single)


def test_bad_files(tmp_path: Path) -> None:
    m = model_with(Value("x", ("N", 4), "float32"))
    (tmp_path / "junk.npy").write_bytes(b"not an array at all")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "junk.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (tmp_path / "x.txt").write_text("1,2")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    for name in ("junk.npy", "junk.npz", "x.txt", "obj.npy", "missing.npy"):
        with pytest.raises(InputError):
            load_inputs(tmp_path / name, m)
    with pytest.raises(InputError, match="not a readable image"):
        load_inputs(tmp_path / "junk.png", model_with(IMG_NHWC))
    # A header that claims a huge array is refused before anything is allocated.
    header = np.lib.format
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w") as zf, zf.open("x.npy", "w") as f:
        header.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False,
                                          "shape": (10**6, 10**6)})
        f.write(b"\0" * 64)
    with pytest.raises(InputError, match="size limit"):
        load_inputs(tmp_path / "bomb.npz", m)
    np.save(tmp_path / "short.npy", np.zeros((1, 4), np.float32))
    data = (tmp_path / "short.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:-4])
    with pytest.raises(InputError, match="truncated"):
        load_inputs(tmp_path / "short.npy", m)
