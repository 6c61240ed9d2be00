"""One open model: its graph view plus the background work done on it (load, run, gradients).

Each kind of work has its own `JobSlot`, so a new run cancels an old run but never a load.
Workers return plain data; this object keeps the newest results and tells the window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from inspector.ir import Graph, Model
from inspector.progress import Task
from inspector.ui.graph import scene
from inspector.ui.graph.scene import SceneData, SceneOptions
from inspector.ui.graph.view import GraphView
from inspector.ui.jobs import JobSlot

#: Share of the open's progress bar the loading takes; laying out the graph takes the rest.
LOAD_SHARE = 0.6




def _load(path: str, task: Task, options: SceneOptions | None = None) -> tuple[Model, SceneData]:
    """Load the model and prepare its scene, both in the worker: the GUI thread then only
    installs it (preparing a 100k-node graph there froze the window for seconds)."""
    from inspector.loaders import load_model

    task.report(0.0, f"Opening {Path(path).name}")
    model = load_model(path, task.part(0.0, LOAD_SHARE))
    data = scene.prepare(model, None, None, options, task.part(LOAD_SHARE, 1.0))
    task.report(1.0, "Opened")
    return model, data


def _standardized(x: np.ndarray, mean: Any, std: Any) -> np.ndarray:
    """(x - mean) / std per feature (last axis), in x's dtype; x unchanged if sizes differ."""
    mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    if x.dtype.kind != "f" or x.shape[-1:] != mean.shape or std.shape != mean.shape:
        return x
    return ((x - mean) / np.where(std == 0, 1.0, std)).astype(x.dtype)


class ModelTab(QWidget):
    """A tab holding one model file, its graph view, its input and its newest results."""

    loaded = Signal(object)
    load_failed = Signal(str, str)
    activations_ready = Signal(object)
    gradients_ready = Signal(object)
    job_failed = Signal(str, str)
    progressed = Signal(float, str)
    busy_changed = Signal(bool)

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = str(Path(path).resolve())
        self.model: Model | None = None
        self.feeds: dict[str, np.ndarray] | None = None
        self.input_kind = "random"
        self.activations: Any = None
        self.gradients: Any = None
        self.view = GraphView(self)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.load_job = JobSlot(self)
        self.run_job = JobSlot(self)
        self.grad_job = JobSlot(self)
        for job in (self.load_job, self.run_job, self.grad_job, self.view):
            job.progressed.connect(self.progressed)
            job.busy_changed.connect(lambda _b: self.busy_changed.emit(self.busy))
        self.load_job.finished.connect(self._on_loaded)
        self.load_job.failed.connect(self.load_failed)
        self.run_job.finished.connect(self._on_activations)
        self.run_job.failed.connect(self.job_failed)
        self.grad_job.finished.connect(self._on_gradients)
        self.grad_job.failed.connect(self.job_failed)

    @property
    def busy(self) -> bool:
        """True while any job of this tab is running (a background relayout included)."""
        return self.load_job.busy or self.run_job.busy or self.grad_job.busy or self.view.busy

    @property
    def graph(self) -> Graph | None:
        """The graph shown (the main graph, or a subgraph the user entered)."""
        current = getattr(self.view, "current_graph", None)
        g = current() if callable(current) else current
        return g or (self.model.graph if self.model else None)

    def title(self) -> str:
        """The tab's label."""
        return Path(self.path).name

    def start_loading(self) -> None:
        """Open the file in the background."""
        path, options = self.path, self.view.options()
        self.load_job.start(lambda task: _load(path, task, options), "Opening")

    def cancel(self) -> None:
        """Stop whatever this tab is doing."""
        for job in (self.load_job, self.run_job, self.grad_job):
            job.cancel()
        self.view.cancel_layout()

    def _on_loaded(self, result: tuple[Model, SceneData]) -> None:
        model, data = result
        self.model = model
        self.view.show_scene(data, model)
        self.loaded.emit(model)

    # --- running ---------------------------------------------------------------------------

    def make_feeds(self, kind: str, path: str | None = None, seed: int = 0,
                   dims: dict[str, int] | None = None, scaling: str = "0-1",
                   row: int = 0, mean_std: tuple[Any, Any] | None = None) -> dict[str, np.ndarray]:
        """Make (or read) the input for the next run: `kind` random (by `seed`), zeros, ones or
        file (`path`: .npy/.npz, an image scaled by `scaling`, or CSV row `row`, standardized
        by `mean_std` when given), symbolic dims from `dims`; raises RunError subclasses on bad
        input and then keeps the old input."""
        from inspector.runtime.inputs import load_inputs, make_inputs

        assert self.model is not None
        if kind == "file" and path:
            feeds = load_inputs(Path(path), self.model, dims, scaling=scaling, row=row)
            if mean_std is not None and Path(path).suffix.lower() == ".csv":
                feeds = {k: _standardized(v, *mean_std) for k, v in feeds.items()}
        else:
            feeds = make_inputs(self.model, kind=kind, seed=seed, dims=dims)
        self.feeds, self.input_kind = feeds, kind
        return feeds

    def run(self, feeds: dict[str, np.ndarray] | None = None) -> None:
        """Compute every layer's activation for `feeds` (or the current input) off the GUI thread."""
        if self.model is None:
            return
        if feeds is not None:
            self.feeds = feeds
        if self.feeds is None:
            self.make_feeds("random")
        model, feeds_now = self.model, dict(self.feeds or {})

        def work(task: Task) -> Any:
            from inspector.runtime.activations import run_activations

            # Lazy: every node's value is captured in the run, but converted from
            # onnxruntime's blocked layout only when a panel reads it (1.3x a plain run on
            # MobileNetV2 instead of 2x; see tests/benchmarks/bench_activations.py).
            return run_activations(model, feeds_now, task, lazy=True)

        self.run_job.start(work, "Running")

    def backprop(self, target: int | float | None, loss: str) -> None:
        """Compute the gradient of the loss at every layer and weight off the GUI thread."""
        if self.model is None:
            return
        if self.feeds is None:
            self.make_feeds("random")
        model, feeds_now = self.model, dict(self.feeds or {})

        def work(task: Task) -> Any:
            from inspector.autodiff import compute_gradients

            return compute_gradients(model, feeds_now, target=target, loss=loss, task=task)

        self.grad_job.start(work, "Backpropagating")

    def _on_activations(self, result: Any) -> None:
        self.activations = result
        self.activations_ready.emit(result)

    def _on_gradients(self, result: Any) -> None:
        self.gradients = result
        self.gradients_ready.emit(result)
