"""Real conversions of the digits sample, made once per session with onnxruntime's and
onnxconverter-common's own tools."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DIGITS = SAMPLES / "digits_cnn.onnx"
DIGITS_INPUT = SAMPLES / "digits_cnn_input.npy"


class _Reader:
    """Calibration data for quantize_static: eight seeded digit-like images."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self._it = iter([{"image": rng.random((1, 8, 8, 1), dtype=np.float32)}
                         for _ in range(8)])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._it, None)


@pytest.fixture(scope="session")
def conversions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{"float", "dynamic", "static", "fp16", "broken"}: paths of the digits CNN made
    float (shape-inferred, as ORT asks before quantizing), int8 dynamic, int8 static QDQ,
    float16, and float with conv2's weight scaled by 1.1."""
    from onnxconverter_common import float16
    from onnxruntime.quantization import QuantFormat, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    d = tmp_path_factory.mktemp("conversions")
    out = {k: d / f"{k}.onnx" for k in ("float", "dynamic", "static", "fp16", "broken")}
    quant_pre_process(str(DIGITS), str(out["float"]))
    quantize_dynamic(str(out["float"]), str(out["dynamic"]))
    quantize_static(str(out["float"]), str(out["static"]), _Reader(), quant_format=QuantFormat.QDQ)
    proto = onnx.load(str(DIGITS))
    onnx.save(float16.convert_float_to_float16(proto, keep_io_types=True), str(out["fp16"]))
    weight = next(n for n in proto.graph.node if n.name == "digits_cnn_1/conv2_1/BiasAdd").input[1]
    for init in proto.graph.initializer:
        if init.name == weight:
            arr = onnx.numpy_helper.to_array(init) * np.float32(1.1)
            init.CopyFrom(onnx.numpy_helper.from_array(arr.astype(np.float32), init.name))
    onnx.save(proto, str(out["broken"]))
    return out
