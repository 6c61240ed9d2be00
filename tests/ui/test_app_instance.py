"""The app as the desktop starts it: a second launch hands its file to the running window,
macOS file-open events, and `--self-test` in a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest
from PySide6.QtGui import QFileOpenEvent
from PySide6.QtWidgets import QApplication

from inspector.ui.app import install_file_open_handler
from inspector.ui.single_instance import INSTANCE_ENV, InstanceServer, server_name
from tests.ui.conftest import SAMPLES_DIR


def _env(tmp_path, **extra) -> dict[str, str]:
    env = dict(os.environ)
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               MODEL_INSPECTOR_CACHE=str(tmp_path / "cache"), **extra)
    return env


def test_second_process_hands_its_file_to_the_running_window(qtbot, main_window, tmp_path, monkeypatch):
    family = f"test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(INSTANCE_ENV, family)
    server = InstanceServer(parent=main_window)
    assert server.name == server_name() and family in server.name
    assert server.listen()
    server.files_received.connect(main_window.open_paths)
    target = SAMPLES_DIR / "iris_mlp.onnx"
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspector", str(target)], cwd=tmp_path,
        env=_env(tmp_path, **{INSTANCE_ENV: family}), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30_000)
    finally:
        if proc.poll() is None:
            proc.kill()
    out, err = proc.communicate()
    print(f"second launch exited after {time.monotonic() - t0:.2f} s")
    assert proc.returncode == 0, err.decode()
    assert "running window" in out.decode()
    qtbot.waitUntil(lambda: [t.title() for t in main_window.model_tabs()] == ["iris_mlp.onnx"])
    qtbot.waitUntil(lambda: main_window.current_tab().model is not None, timeout=20_000)
    server.close()


def test_handing_off_waits_for_the_loader_preload(qapp, monkeypatch):
    """A second launch returns only once its background import of the loaders is done:
    exiting in the middle of importing onnx aborted the process ("terminate called without
    an active exception", exit -6) when the hand-off was quicker than the import."""
    import threading

    import inspector.loaders.registry as registry
    import inspector.ui.single_instance as single_instance
    from inspector.ui.app import run_app

    real = registry.loaders

    def slow_loaders(*a, **kw):  # the import as long as it takes on a cold start
        time.sleep(0.4)
        return real(*a, **kw)

    monkeypatch.setattr(registry, "loaders", slow_loaders)
    monkeypatch.setattr(single_instance, "send_to_running", lambda files: True)
    names = qapp.organizationName(), qapp.applicationName(), qapp.desktopFileName()
    try:
        assert run_app([str(SAMPLES_DIR / "iris_mlp.onnx")], []) == 0
    finally:
        qapp.setOrganizationName(names[0])
        qapp.setApplicationName(names[1])
        qapp.setDesktopFileName(names[2])
    assert not [t for t in threading.enumerate() if t.name == "preload-loaders" and t.is_alive()]


def test_no_running_instance_means_send_fails(tmp_path, monkeypatch, qapp):
    from inspector.ui.single_instance import send_to_running

    monkeypatch.setenv(INSTANCE_ENV, f"nobody-{uuid.uuid4().hex[:8]}")
    assert send_to_running([str(SAMPLES_DIR / "iris_mlp.onnx")]) is False


def test_file_open_event_opens_the_file(qtbot, main_window):
    app = QApplication.instance()
    handler = install_file_open_handler(app, lambda p: main_window.open_paths([p]))
    try:
        QApplication.sendEvent(app, QFileOpenEvent(str(SAMPLES_DIR / "digits_cnn.keras")))
        qtbot.waitUntil(lambda: main_window.current_tab() is not None
                        and main_window.current_tab().model is not None, timeout=20_000)
        assert main_window.current_tab().title() == "digits_cnn.keras"
    finally:
        app.removeEventFilter(handler)
        handler.deleteLater()


def _self_test(tmp_path, *extra: str) -> tuple[subprocess.CompletedProcess, np.ndarray]:
    from PIL import Image

    shot = tmp_path / "self-test.png"
    proc = subprocess.run(
        [sys.executable, "-m", "inspector", "--self-test", "--screenshot", str(shot), *extra],
        cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape[0] > 300 and img.shape[1] > 300
    assert img.reshape(-1, 3).std(axis=0).max() > 10, "the screenshot is blank"
    return proc, img


def test_self_test_without_conversion_exits_0_with_a_screenshot(tmp_path):
    proc, _ = _self_test(tmp_path, "--no-convert")
    onnx_samples = sorted(p.name for p in SAMPLES_DIR.glob("*.onnx"))
    for name in onnx_samples:
        assert f"self-test: {name}:" in proc.stdout and "activations" in proc.stdout
    print(proc.stdout)


@pytest.mark.convert
def test_self_test_runs_keras_samples_too(tmp_path):
    pytest.importorskip("tensorflow")
    proc, _ = _self_test(tmp_path)
    for p in SAMPLES_DIR.glob("*.keras"):
        assert f"self-test: {p.name}:" in proc.stdout
