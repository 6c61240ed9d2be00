"""Bad input: every bad file gives one clear line (ModelLoadError, or exit 2 from the CLI),
never a traceback, a hang, a memory blow-up or code execution from the file."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from inspector.loaders import ModelLoadError, load_model
from tests import badfiles

# Hang guards, not performance figures: a correct loader takes well under a second here.
LOAD_TIMEOUT = 30.0
CLI_TIMEOUT = 90.0
# The zip bombs inflate to 1.2 GB; a loader that reads no more than a member claims (and no
# more than a sane cap) stays far below these. `info` on a good sample peaks near 60 MB.
PEAK_PYTHON_BYTES = 300 * 1024 * 1024
CLI_MAX_RSS_KB = 400 * 1024
MAX_MESSAGE = 500

CORE = sorted(badfiles.FACTORIES)
ODD = sorted(badfiles.ODD_FACTORIES)
KERAS = sorted(badfiles.KERAS_FACTORIES)
LAMBDA_SUFFIXES = [".keras", ".h5"]


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, badfiles.BadFile]:
    """Every core bad file, written once per session (the zip bomb takes a few seconds)."""
    return badfiles.make_all(tmp_path_factory.mktemp("bad"))


@pytest.fixture(scope="session")
def odd_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, badfiles.BadFile]:
    """Structurally odd but parseable files."""
    folder = tmp_path_factory.mktemp("odd")
    return {name: make(folder) for name, make in badfiles.ODD_FACTORIES.items()}


@pytest.fixture(scope="session")
def keras_bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, badfiles.BadFile]:
    """The bad files Keras itself must write."""
    pytest.importorskip("tensorflow")
    folder = tmp_path_factory.mktemp("bad_keras")
    return {name: make(folder) for name, make in badfiles.KERAS_FACTORIES.items()}


@pytest.fixture(scope="session")
def lambda_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """Armed Lambda models by suffix: (model path, marker path that must never appear)."""
    pytest.importorskip("tensorflow")
    folder = tmp_path_factory.mktemp("lambda")
    return {s: badfiles.lambda_model(folder, s) for s in LAMBDA_SUFFIXES}


def _load_guarded(path: Path) -> tuple[Any, BaseException | None, int]:
    """load_model in a daemon thread: (model, exception, peak traced Python bytes)."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["model"] = load_model(path)
        except BaseException as e:  # noqa: BLE001 - reported to the test below
            box["error"] = e

    tracemalloc.start()
    try:
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(LOAD_TIMEOUT)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not worker.is_alive(), f"load_model({path.name}) still running after {LOAD_TIMEOUT}s"
    return box.get("model"), box.get("error"), peak


def _assert_load_error(path: Path, expect: str) -> None:
    model, error, peak = _load_guarded(path)
    assert model is None, f"{path.name} loaded but should have been refused"
    _assert_one_line(path, error, expect)
    assert peak < PEAK_PYTHON_BYTES, f"loading {path.name} allocated {peak / 2**20:.0f} MB"


def _assert_one_line(path: Path, error: BaseException | None, expect: str) -> None:
    assert isinstance(error, ModelLoadError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert "\n" not in message and "\r" not in message, message
    assert message.strip() and len(message) <= MAX_MESSAGE, message
    assert "Traceback" not in message
    assert path.name in message, message
    assert badfiles.message_ok(message, expect), f"{message!r} should say {expect!r}"


@pytest.mark.parametrize("name", CORE)
def test_bad_file_raises_one_line_error(name: str, bad_files: dict) -> None:
    """Each bad file is refused with one clear line naming it."""
    path, expect = bad_files[name]
    _assert_load_error(path, expect)


# What each odd file must open as: (node names, the broken layer, the layer it names).
ODD_EXPECT = {
    "keras_cycle": ({"hidden1", "hidden2", "output"}, "hidden2", "hidden1"),
    "keras_unknown_inbound": ({"hidden1", "hidden2", "output"}, "hidden2", "no_such_layer"),
}


@pytest.mark.parametrize("name", ODD)
def test_odd_file_opens_with_the_broken_link_said(name: str, odd_files: dict) -> None:
    """A cyclic or dangling Keras graph opens (it is drawable), with the broken input left
    unconnected and one warning naming both layers; it never hangs."""
    path, _ = odd_files[name]
    model, error, _ = _load_guarded(path)
    assert error is None, error
    nodes, broken, source = ODD_EXPECT[name]
    assert {n.name for n in model.graph.nodes} == nodes
    node = next(n for n in model.graph.nodes if n.name == broken)
    assert node.inputs == ("",)
    warnings = model.summary()["warnings"]
    assert len(warnings) == 1
    assert f"'{broken}'" in warnings[0] and f"'{source}'" in warnings[0]


def test_nested_onnx_is_valid_when_shallow(tmp_path: Path) -> None:
    """The hand-serialized nesting is a valid ONNX model at depth 3 (so at depth 300 only
    the depth is wrong) and loads with every nested node."""
    import onnx

    path, _ = badfiles.nested_onnx(tmp_path, depth=3)
    onnx.checker.check_model(onnx.load(str(path)))
    model = load_model(path)
    assert [n.op_type for _, n in model.graph.walk()].count("If") == 3


@pytest.mark.convert
@pytest.mark.parametrize("name", KERAS)
def test_keras_written_bad_file_raises(name: str, keras_bad_files: dict) -> None:
    """Files Keras wrote that are not models (weights only) are refused clearly."""
    path, expect = keras_bad_files[name]
    _assert_load_error(path, expect)


def test_external_data_files_exist_for_the_escape_cases(bad_files: dict) -> None:
    """The outside/absolute cases point at real data, so only a path check can refuse them."""
    import onnx

    for name in ("external_outside", "external_absolute"):
        path, _ = bad_files[name]
        m = onnx.load(str(path), load_external_data=False)
        w = next(t for t in m.graph.initializer if t.name == "W")
        location = dict((e.key, e.value) for e in w.external_data)["location"]
        assert (path.parent / location).resolve().is_file()
        assert not (path.parent / location).resolve().is_relative_to(path.parent.resolve())


@pytest.mark.convert
@pytest.mark.parametrize("suffix", LAMBDA_SUFFIXES)
def test_lambda_layer_shown_never_run(suffix: str, lambda_files: dict) -> None:
    """A Lambda layer is in the graph but its code never runs; Keras unsafe loading proves the
    file really would run it."""
    path, marker = lambda_files[suffix]
    model, error, _ = _load_guarded(path)
    assert error is None, f"{type(error).__name__}: {error}"
    assert not marker.exists(), "loading the model executed its Lambda function"
    lambdas = [n for n in model.graph.nodes if n.op_type == "Lambda"]
    assert [n.name for n in lambdas] == ["armed_lambda"]
    assert model.summary()["nodes"] == 3

    import keras

    keras.saving.load_model(str(path), compile=False, safe_mode=False)
    assert marker.exists(), "the test file is not armed: Keras did not run the Lambda"
    marker.unlink()


# ------------------------------------------------------------------------- command line


def _vm_hwm_kb(pid: int) -> int:
    """The process's resident high-water mark (VmHWM), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _run_cli(*args: str) -> tuple[int, str, str, int]:
    """`python -m inspector ARGS`: (exit status, stdout, stderr, child's peak RSS in KB).

    The peak is polled from /proc rather than taken from wait4's ru_maxrss, which on Linux
    carries over the (large) pytest process's high-water mark from before exec."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONDONTWRITEBYTECODE="1")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "inspector", *args], stdout=out, stderr=err, env=env
        )
        peak = 0
        deadline = time.monotonic() + CLI_TIMEOUT
        while proc.poll() is None:
            peak = max(peak, _vm_hwm_kb(proc.pid))
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                pytest.fail(f"model-inspector {' '.join(args)} ran past {CLI_TIMEOUT}s")
            time.sleep(0.02)
        out.seek(0)
        err.seek(0)
        return (
            proc.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            peak,
        )


def _assert_cli_refuses(path: Path, expect: str) -> None:
    code, out, err, rss_kb = _run_cli("info", str(path))
    assert code == 2, f"exit {code}; stderr: {err[-2000:]}"
    assert "Traceback" not in err, err[-2000:]
    lines = err.strip().splitlines()
    assert len(lines) == 1, err[-2000:]
    assert path.name in lines[0]
    assert badfiles.message_ok(lines[0], expect), f"{lines[0]!r} should say {expect!r}"
    assert out == ""
    assert rss_kb < CLI_MAX_RSS_KB, f"info {path.name} peaked at {rss_kb // 1024} MB"


@pytest.mark.parametrize("name", CORE)
def test_cli_info_bad_file_exits_2(name: str, bad_files: dict) -> None:
    """`model-inspector info BAD` exits 2 with one line on stderr and no traceback."""
    path, expect = bad_files[name]
    _assert_cli_refuses(path, expect)


@pytest.mark.parametrize("name", ODD)
def test_cli_info_odd_file(name: str, odd_files: dict) -> None:
    """The CLI opens or refuses an odd file cleanly: exit 0, or exit 2 with one line."""
    path, _ = odd_files[name]
    code, out, err, _ = _run_cli("info", str(path))
    assert code in (0, 2), err[-2000:]
    assert "Traceback" not in err
    if code == 2:
        assert len(err.strip().splitlines()) == 1


@pytest.mark.convert
@pytest.mark.parametrize("name", KERAS)
def test_cli_info_keras_written_bad_file_exits_2(name: str, keras_bad_files: dict) -> None:
    """The CLI refuses Keras-written non-models the same way."""
    path, expect = keras_bad_files[name]
    _assert_cli_refuses(path, expect)


@pytest.mark.convert
@pytest.mark.parametrize("suffix", LAMBDA_SUFFIXES)
def test_cli_info_lambda_model_runs_nothing(suffix: str, lambda_files: dict) -> None:
    """`info` on a Lambda model succeeds, lists the Lambda, and never runs its code."""
    path, marker = lambda_files[suffix]
    code, out, err, _ = _run_cli("info", "--json", str(path))
    assert code == 0, err[-2000:]
    assert '"Lambda"' in out
    assert not marker.exists(), "model-inspector info executed the Lambda function"


def test_cli_missing_file_exits_2(tmp_path: Path) -> None:
    """A path that does not exist is one line and exit 2 as well."""
    path = tmp_path / "nowhere.onnx"
    _assert_cli_refuses(path, "no such file|not found|does not exist")


# --- not regular files: refused before anything opens them --------------------------------

NOT_REGULAR_TIMEOUT = 30.0


def _not_regular(kind: str, folder: Path) -> tuple[Path, str]:
    import socket

    if kind == "fifo":
        path = folder / "model.onnx"
        os.mkfifo(path)  # opening it for reading would block until a writer comes
        return path, "named pipe"
    if kind == "folder":
        path = folder / "model.keras"
        path.mkdir()
        return path, "folder"
    if kind == "device":
        return Path("/dev/zero"), "device"  # reading never ends
    path = folder / "model.h5"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.close()
    return path, "socket"


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "socket"])
@pytest.mark.parametrize("command", ["info", "run"])
def test_not_a_regular_file_is_refused_by_the_cli(kind: str, command: str, tmp_path: Path) -> None:
    """A FIFO named model.onnx (and folders, devices, sockets): one line, exit 2, no hang."""
    path, says = _not_regular(kind, tmp_path)
    args = [command, str(path)] + (["-o", str(tmp_path / "o.npz")] if command == "run" else [])
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True,
                          text=True, env=env, timeout=NOT_REGULAR_TIMEOUT)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert str(path) in lines[0] and says in lines[0] and "not a model file" in lines[0]
    assert not (tmp_path / "o.npz").exists()


def test_fifo_as_input_file_is_refused(tmp_path: Path) -> None:
    """`run --input FIFO` must not block either."""
    fifo = tmp_path / "input.npy"
    os.mkfifo(fifo)
    model = badfiles.SAMPLES / "iris_mlp.onnx"
    proc = subprocess.run(
        [sys.executable, "-m", "inspector", "run", str(model), "--input", str(fifo),
         "-o", str(tmp_path / "o.npz")],
        capture_output=True, text=True, timeout=NOT_REGULAR_TIMEOUT,
    )
    assert proc.returncode == 2 and "named pipe" in proc.stderr, proc.stderr


def test_fifo_is_refused_by_load_model(tmp_path: Path) -> None:
    path, _ = _not_regular("fifo", tmp_path)
    model, error, _ = _load_guarded(path)
    assert model is None and isinstance(error, ModelLoadError)
    assert str(error) == f"{path}: is a named pipe (FIFO), not a model file"
