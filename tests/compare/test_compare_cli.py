"""`model-inspector compare`: the table, --json contract, -o CSV, and one line for bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from inspector.cli import main
from tests.compare.conftest import DIGITS, DIGITS_INPUT, SAMPLES


def test_json_contract(conversions: dict[str, Path], capsys: pytest.CaptureFixture[str],
                       tmp_path: Path) -> None:
    out = tmp_path / "report.csv"
    rc = main(["compare", str(DIGITS), str(conversions["broken"]), "--input", str(DIGITS_INPUT),
               "--threshold", "1e-4", "--json", "-o", str(out)])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert {"values", "unmatched_a", "unmatched_b", "first_divergence"} <= set(data)
    assert {"a", "b", "shape", "max_abs", "max_rel", "cosine", "snr_db"} <= set(data["values"][0])
    assert data["first_divergence"]["a"] == "digits_cnn_1/conv2_1/BiasAdd:0"
    rows = list(csv.DictReader(out.open()))
    assert len([r for r in rows if r["kind"] == "value"]) == len(data["values"])


def test_table_names_the_first_divergence(conversions: dict[str, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(DIGITS), str(conversions["dynamic"]), "--input", "zeros"]) == 0
    text = capsys.readouterr().out
    assert "max_abs" in text and "unmatched_a: -" in text and "first_divergence:" in text


@pytest.mark.parametrize("b, message", [
    (SAMPLES / "iris_mlp.onnx", "mismatched input signatures"),
    (SAMPLES / "missing.onnx", "no such file"),
    (SAMPLES / "README.md", ""),
])
def test_bad_input_is_one_line(b: Path, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(DIGITS), str(b)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_gui_compare_option_takes_two_files(capsys: pytest.CaptureFixture[str]) -> None:
    from inspector.cli import split_gui_args

    files, extra = split_gui_args(["--compare", "a.onnx", "b.onnx", "c.onnx"])
    assert files == ["c.onnx"] and extra == ["--compare", "a.onnx", "b.onnx"]
    assert main(["--compare", str(DIGITS), str(SAMPLES / "nope.onnx")]) == 2
    assert "nope.onnx: no such file" in capsys.readouterr().err
