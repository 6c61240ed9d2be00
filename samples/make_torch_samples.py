"""Write the PyTorch-exported ONNX samples (run: python samples/make_torch_samples.py).

Needs torch (CPU) besides the core; the project does not depend on it: the tests read only
the committed .onnx files. Three small models, each trained a few hundred steps from a fixed
seed on data made here, exported with PyTorch's TorchScript exporter (`dynamo=False`, opset
17), and checked: onnxruntime equals PyTorch within 1e-5, and the app's numpy gradients
(`compute_gradients`) equal PyTorch autograd for the input and every recurrent weight.
The manifest is updated in place: entries of other files are kept as they are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

OUT = Path(__file__).resolve().parent
SEED = 0
OPSET = 17
TOL = 1e-5


# ---------------------------------------------------------------- data


def digits32_data() -> dict[str, Any]:
    """sklearn digits, 8x8 blown up to 32x32 (each pixel a 4x4 block), 3 equal channels, NCHW."""
    from sklearn.datasets import load_digits

    ds = load_digits()
    x = np.kron(ds.images / 16.0, np.ones((4, 4)))[:, None].repeat(3, axis=1)
    return {"x": ((x - 0.3) / 0.4).astype(np.float32), "y": ds.target.astype(np.int64),
            "labels": [str(i) for i in range(10)],
            "dataset": "sklearn.datasets.load_digits, 8x8 -> 32x32 (4x4 blocks), 3 channels, "
                       "(x/16 - 0.3) / 0.4"}


def motif_data(n: int = 1200, steps: int = 12, seed: int = SEED) -> dict[str, Any]:
    """Noise sequences of 32-vectors with one of three fixed motifs at a random step."""
    rng = np.random.default_rng(seed)
    motifs = rng.standard_normal((3, 32)) * 1.5
    x = rng.standard_normal((n, steps, 32)) * 0.7
    y = rng.integers(0, 3, n)
    x[np.arange(n), rng.integers(0, steps, n)] += motifs[y]
    return {"x": x.astype(np.float32), "y": y.astype(np.int64),
            "labels": ["motif_a", "motif_b", "motif_c"],
            "dataset": f"synthetic: which of 3 fixed motifs hides in a noise sequence (seed {seed})"}


def trend8_data(n: int = 1200, steps: int = 16, seed: int = SEED) -> dict[str, Any]:
    """8-channel noise whose channel 0 carries a rising or falling trend under a sine."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, steps)
    slope = rng.uniform(0.5, 2.0, n) * rng.choice([-1.0, 1.0], n)
    x = rng.normal(0.0, 0.3, (n, steps, 8))
    x[:, :, 0] += slope[:, None] * t + 0.3 * np.sin(rng.uniform(2, 6, n)[:, None] * 6 * t)
    return {"x": x.astype(np.float32), "y": (slope > 0).astype(np.int64),
            "labels": ["falling", "rising"],
            "dataset": f"synthetic: trend direction of channel 0 in 8-channel noise (seed {seed})"}


# ---------------------------------------------------------------- models


def build_models() -> dict[str, Any]:
    """The three torch modules (imported here so the file imports without torch)."""
    import torch
    from torch import nn

    class Classifier(nn.Module):
        """`logits` for training; `forward` ends in Softmax so the file outputs probabilities."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.logits(x), dim=-1)

    class Block(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c)
            self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(x + self.bn2(self.conv2(y)))

    class ResNet(Classifier):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
                                      nn.BatchNorm2d(16), nn.ReLU())
            self.layer1 = nn.Sequential(Block(16))
            self.down = nn.Sequential(nn.Conv2d(16, 24, 3, stride=2, padding=1, bias=False),
                                      nn.BatchNorm2d(24), nn.ReLU())
            self.layer2 = nn.Sequential(Block(24))
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(24, 10)

        def logits(self, x: torch.Tensor) -> torch.Tensor:
            x = self.layer2(self.down(self.layer1(self.stem(x))))
            return self.fc(torch.flatten(self.pool(x), 1))

    class Encoder(Classifier):
        def __init__(self) -> None:
            super().__init__()
            layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, dropout=0.0,
                                               activation="gelu", batch_first=True)
            self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.head = nn.Linear(32, 3)

        def logits(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.encoder(x).mean(dim=1))

    class Recurrent(Classifier):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(8, 12, num_layers=2, batch_first=True, bidirectional=True)
            self.gru = nn.GRU(24, 12, batch_first=True)
            self.head = nn.Linear(12, 2)

        def logits(self, x: torch.Tensor) -> torch.Tensor:
            y, _ = self.lstm(x)
            _, h = self.gru(y)
            return self.head(h[-1])

    return {"resnet": ResNet, "encoder": Encoder, "lstm": Recurrent}


def train(model: Any, data: dict[str, Any], steps: int, lr: float, batch: int = 64) -> None:
    """A few hundred Adam steps on cross entropy; deterministic from the seed."""
    import torch

    x, y = torch.from_numpy(data["x"]), torch.from_numpy(data["y"])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch,), generator=gen)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model.logits(x[idx]), y[idx]).backward()
        opt.step()
    model.eval()


# ---------------------------------------------------------------- export and checks


def export(model: Any, name: str, example: np.ndarray, dyn: dict[int, str],
           labels: list[str]) -> Path:
    """TorchScript-export `model` to torch_<name>.onnx with the labels as metadata."""
    import onnx
    import torch

    path = OUT / f"torch_{name}.onnx"
    # Not under no_grad: with grad enabled nn.TransformerEncoderLayer skips its fused
    # inference kernel (aten::_transformer_encoder_layer_fwd), which has no ONNX export.
    torch.onnx.export(model, (torch.from_numpy(example),), str(path), dynamo=False,
                      opset_version=OPSET, input_names=["input"],
                      output_names=["probabilities"], do_constant_folding=True,
                      dynamic_axes={"input": dyn, "probabilities": {0: "batch"}})
    proto = onnx.load(str(path))
    del proto.metadata_props[:]
    entry = proto.metadata_props.add()
    entry.key, entry.value = "labels", json.dumps(labels)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    return path


def ort_run(path: Path, x: np.ndarray) -> np.ndarray:
    """onnxruntime's output for input `x`."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def max_diff_vs_torch(model: Any, path: Path, xs: list[np.ndarray]) -> float:
    """Largest |onnxruntime - PyTorch| over the given inputs."""
    import torch

    worst = 0.0
    with torch.no_grad():
        for x in xs:
            want = model(torch.from_numpy(x)).numpy()
            worst = max(worst, float(np.abs(ort_run(path, x) - want).max()))
    return worst


def grads_vs_torch(model: Any, path: Path, x: np.ndarray, target: int) -> dict[str, float]:
    """Relative max difference between compute_gradients and torch autograd, per tensor.

    The loss is the app's "ce" on the Softmax output: mean cross entropy of the logits.
    """
    import torch

    from inspector.loaders import load_model
    from inspector.autodiff import compute_gradients

    res = compute_gradients(load_model(path), {"input": x}, target=target, loss="ce")
    if res.uncovered:
        raise SystemExit(f"{path.name}: uncovered {res.uncovered}")
    xt = torch.from_numpy(x).requires_grad_(True)
    model.zero_grad()
    loss = torch.nn.functional.cross_entropy(model.logits(xt), torch.tensor([target] * len(x)))
    loss.backward()
    out = {"input": _rel(res.values["input"], xt.grad.numpy())}
    out.update(_recurrent_weight_diffs(model, proto_nodes(path), res.values))
    return out


def proto_nodes(path: Path) -> list[Any]:
    """The main graph's nodes of an ONNX file."""
    import onnx

    return list(onnx.load(str(path)).graph.node)


#: PyTorch's gate blocks in ONNX order: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h.
_GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}


def _to_onnx_layout(t: np.ndarray, kind: str) -> np.ndarray:
    blocks = np.split(t, len(_GATE_ORDER[kind]), axis=0)
    return np.concatenate([blocks[k] for k in _GATE_ORDER[kind]], axis=0)


def _recurrent_weight_diffs(model: Any, nodes: list[Any],
                            grads: dict[str, np.ndarray]) -> dict[str, float]:
    """d loss / d W, R, B of each ONNX LSTM/GRU node against autograd's, regrouped exactly."""
    layers = []
    for mod_name in ("lstm", "gru"):
        mod = getattr(model, mod_name, None)
        for layer in range(mod.num_layers if mod is not None else 0):
            layers.append((mod, layer))
    rec = [n for n in nodes if n.op_type in ("LSTM", "GRU")]
    out = {}
    for node, (mod, layer) in zip(rec, layers, strict=True):
        kind = node.op_type
        sfx = [f"l{layer}"] + ([f"l{layer}_reverse"] if mod.bidirectional else [])
        want = {
            "W": np.stack([_to_onnx_layout(getattr(mod, f"weight_ih_{s}").grad.numpy(), kind)
                           for s in sfx]),
            "R": np.stack([_to_onnx_layout(getattr(mod, f"weight_hh_{s}").grad.numpy(), kind)
                           for s in sfx]),
            "B": np.stack([np.concatenate([
                _to_onnx_layout(getattr(mod, f"bias_ih_{s}").grad.numpy(), kind),
                _to_onnx_layout(getattr(mod, f"bias_hh_{s}").grad.numpy(), kind)]) for s in sfx]),
        }
        for slot in ("W", "R", "B"):
            got = grads.get(f"{node.name}/{slot}")  # keyed "<node>/<weight>", as `grad -o`
            if got is None:
                raise SystemExit(f"no gradient for {node.name}/{slot}")
            out[f"{node.name}.{slot}"] = _rel(got, want[slot])
    return out


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(1e-12, float(np.abs(b).max())))


# ---------------------------------------------------------------- main


def op_counts(path: Path) -> dict[str, int]:
    """{op type: count} of the main graph."""
    counts: dict[str, int] = {}
    for n in proto_nodes(path):
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return dict(sorted(counts.items()))


def update_manifest(entries: list[dict[str, Any]]) -> None:
    """Replace or append our entries in manifest.json; every other entry is kept verbatim."""
    path = OUT / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    ours = {e["file"] for e in entries}
    files = [e for e in manifest["files"] if e["file"] not in ours]
    manifest["files"] = files + entries
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def main() -> int:
    """Train, export and check every torch sample; update the manifest."""
    import onnx
    import torch

    sys.path.insert(0, str(OUT))
    from make_samples import accuracy, onnx_facts  # the same fact-gathering as the Keras ones

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # deterministic float sums, hence identical files run to run
    specs = {
        "resnet": (digits32_data(), 150, 3e-3, {0: "batch"}),
        "encoder": (motif_data(), 300, 2e-3, {0: "batch"}),
        "lstm": (trend8_data(), 300, 1e-2, {0: "batch", 1: "seq"}),
    }
    entries = []
    for name, cls in build_models().items():
        data, steps, lr, dyn = specs[name]
        torch.manual_seed(SEED)
        model = cls()
        train(model, data, steps, lr)
        x0 = data["x"][:1]
        path = export(model, name, x0, dyn, data["labels"])
        np.save(OUT / f"torch_{name}_input.npy", x0)
        odd = data["x"][3:8] if 1 not in dyn else data["x"][3:8, :-3]  # other batch/seq
        diff = max_diff_vs_torch(model, path, [x0, odd])
        pred = ort_run(path, data["x"])
        acc = accuracy(pred, data["y"], "multiclass")
        grads = grads_vs_torch(model, path, x0, int(data["y"][0]))
        print(f"torch_{name}.onnx: {path.stat().st_size} bytes, accuracy {acc:.4f}, "
              f"max |ORT - torch| {diff:.2e}")
        print(f"  ops {op_counts(path)}")
        print("  gradients vs autograd (max rel diff): "
              + ", ".join(f"{k} {v:.1e}" for k, v in grads.items()))
        if diff > TOL:
            raise SystemExit(f"torch_{name}: onnxruntime differs from PyTorch by {diff}")
        facts = onnx_facts(path)
        entries.append({
            "file": path.name, "format": "onnx", **facts,
            "input_file": f"torch_{name}_input.npy", "labels": data["labels"],
            "task": "multiclass", "accuracy": acc, "dataset": data["dataset"],
            "generator": "samples/make_torch_samples.py",
            "producer": f"{onnx.load(str(path)).producer_name} "
                        f"{onnx.load(str(path)).producer_version}",
            "exporter": "torch.onnx.export(dynamo=False)", "training_steps": steps,
            "max_abs_diff_vs_torch": diff, "max_rel_grad_diff_vs_torch": max(grads.values()),
            "op_types": op_counts(path),
        })
    update_manifest(entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
