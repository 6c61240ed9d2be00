"""The side-by-side tab: two graph views of models A and B with synchronised selection and
scrolling through the node mapping, coloured by error, above the values panel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from inspector.compare import CompareReport, compare_models
from inspector.compare.report import DEFAULT_THRESHOLD, first_divergence_of
from inspector.compare.weights import weight_diffs
from inspector.ir import Model
from inspector.progress import Task
from inspector.ui.compare_colors import legend, node_colors
from inspector.ui.compare_panel import ComparePanel
from inspector.ui.graph.view import GraphView
from inspector.ui.jobs import JobSlot


def _load_pair(a: str, b: str, options: object, task: Task
               ) -> tuple[Model, Model, object, object]:
    """Both models and their scenes (layouts), off the GUI thread."""
    from inspector.loaders import ModelLoadError, load_model
    from inspector.runtime.errors import RunError

    try:
        ma, mb = load_model(a), load_model(b)
    except ModelLoadError as e:
        raise RunError(str(e)) from None
    # Laid out here, before the runs: beside onnxruntime on two shared cores a layout
    # thread slowed the runs by more than it costs (bench_compare).
    return ma, mb, GraphView.prepare(ma, None, None, options), GraphView.prepare(mb, None, None, options)


def _compare(ma: Model, mb: Model, input_spec: str, seed: int, threshold: float,
             manual: list[tuple[str, str]], task: Task
             ) -> tuple[Model, Model, CompareReport | None, str]:
    from inspector.runtime.errors import RunError

    try:
        # Weights are measured after the graphs are coloured (`_measure_weights`).
        report = compare_models(ma, mb, input_spec, seed=seed, threshold=threshold,
                                manual=manual, task=task, weights=False)
    except RunError as e:
        return ma, mb, None, str(e)
    return ma, mb, report, ""


class CompareTab(QWidget):
    """Models A and B side by side; `compared` is emitted with each new CompareReport,
    `shown` once its colours are on both graphs."""

    compared = Signal(object)
    shown = Signal()  # both graphs on screen, coloured by the newest report
    weights_measured = Signal(list)  # the weight ValueDiffs, measured after `shown`
    failed = Signal(str)

    def __init__(self, path_a: str, path_b: str, parent: QWidget | None = None, *,
                 input_spec: str = "random", seed: int = 0) -> None:
        super().__init__(parent)
        self.path_a, self.path_b = str(Path(path_a).resolve()), str(Path(path_b).resolve())
        self.input_spec, self.seed = input_spec, seed
        self.manual: list[tuple[str, str]] = []
        self.report: CompareReport | None = None
        self.model_a: Model | None = None
        self.model_b: Model | None = None
        self._syncing = False
        self._scenes: tuple[object, object] | None = None
        self.view_a, self.view_b = GraphView(self), GraphView(self)
        self.panel = ComparePanel(self)
        self.status = QLabel("Comparing…")
        self.threshold = QDoubleSpinBox()
        self.threshold.setDecimals(6)
        self.threshold.setRange(0.0, 1e6)
        self.threshold.setSingleStep(1e-3)
        self.threshold.setValue(DEFAULT_THRESHOLD)
        self.threshold.setPrefix("threshold (max_rel) ")
        self.match_button = QPushButton("Match these")
        self.match_button.setToolTip("Match the node selected in A to the node selected in B")
        self.legend = QLabel(self._legend_html())
        self.job = JobSlot(self)
        self.load_job = JobSlot(self)
        self.weights_job = JobSlot(self)
        self._build()
        self._scroll_timer = QTimer(self)
        self._scroll_timer.setSingleShot(True)
        self._scroll_timer.setInterval(30)  # scrolling bursts: sync once per burst
        self._scroll_timer.timeout.connect(self._sync_scroll)
        self._scroll_source: GraphView | None = None
        self.view_a.node_selected.connect(lambda n: self._on_selected(n, "a"))
        self.view_b.node_selected.connect(lambda n: self._on_selected(n, "b"))
        self.view_a.view_changed.connect(lambda: self._on_scrolled(self.view_a))
        self.view_b.view_changed.connect(lambda: self._on_scrolled(self.view_b))
        self.threshold.valueChanged.connect(self._on_threshold)
        self.match_button.clicked.connect(self.match_selected)
        self.job.finished.connect(self._on_finished)
        self.load_job.finished.connect(self._on_loaded)
        self.weights_job.finished.connect(self._on_weights)
        for job in (self.job, self.load_job, self.weights_job):
            job.failed.connect(lambda msg, _d: self._fail(msg))
        self.job.progressed.connect(lambda f, m: self.status.setText(f"{m} ({f:.0%})"))

    def title(self) -> str:
        """The tab title: both file names."""
        return f"{Path(self.path_a).name} ⇄ {Path(self.path_b).name}"

    def _legend_html(self) -> str:
        return "  ".join(
            f"<span style='background:rgb{rgb};'>&nbsp;&nbsp;&nbsp;</span> {label}"
            for label, rgb in legend())

    def _build(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel(f"<b>A</b> {Path(self.path_a).name}  ⇄  <b>B</b> "
                             f"{Path(self.path_b).name}"))
        bar.addWidget(self.threshold)
        bar.addWidget(self.match_button)
        bar.addStretch(1)
        bar.addWidget(self.status)
        graphs = QSplitter(Qt.Orientation.Horizontal)
        graphs.addWidget(self.view_a)
        graphs.addWidget(self.view_b)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(graphs)
        body.addWidget(self.panel)
        body.setStretchFactor(0, 3)
        body.setStretchFactor(1, 1)
        body.setSizes([700, 300])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(bar)
        lay.addWidget(self.legend)
        lay.addWidget(body, 1)
        self.panel.value_selected.connect(self._on_value_row)

    # --- running ---------------------------------------------------------------------------

    def start(self) -> None:
        """Load both files (first time), then lay out both graphs while matching and
        running the pair, each in the background."""
        if self.model_a is None or self.model_b is None:
            self.status.setText("Loading…")
            a, b, options = self.path_a, self.path_b, self.view_a.options()
            self.load_job.start(lambda task: _load_pair(a, b, options, task), "compare-load")
            return
        ma, mb = self.model_a, self.model_b
        args = (ma, mb, self.input_spec, self.seed, self.threshold.value(), list(self.manual))
        self.status.setText("Comparing…")
        self.job.start(lambda task: _compare(*args, task), "compare")

    def _on_loaded(self, result: tuple[Model, Model, object, object]) -> None:
        self.model_a, self.model_b, scene_a, scene_b = result
        # Shown with the first report, coloured: painting both graphs during the runs
        # cost them more than the wait (bench_compare); a failed comparison shows them too.
        self._scenes = (scene_a, scene_b)
        self.start()

    def _show_scenes(self) -> None:
        if self._scenes is not None:
            self.view_a.show_scene(self._scenes[0], self.model_a)
            self.view_b.show_scene(self._scenes[1], self.model_b)
            self._scenes = None

    def _color(self) -> None:
        report = self.report
        # The legend is the strip above both graphs; one per graph would cover them.
        self.view_a.set_node_colors(node_colors(report, "a"))
        self.view_b.set_node_colors(node_colors(report, "b"))
        self.shown.emit()

    def _on_finished(self, result: tuple[Model, Model, CompareReport | None, str]) -> None:
        _, _, report, error = result
        if report is not None:
            self.report = report
            self._color()  # colours first, so the scenes are installed already coloured
        self._show_scenes()
        if report is None:
            self._fail(error)
            return
        self.panel.set_report(report)
        self._show_status()
        fd = report.first_divergence
        if fd is not None:
            # After the coloured graphs are painted: the three plots take ~40 ms to build.
            QTimer.singleShot(0, lambda a=fd.a: self.panel.show_value(a))
        ma, mb, matching = self.model_a, self.model_b, report.matching
        self.weights_job.start(lambda _task: weight_diffs(ma, mb, matching), "compare-weights")
        self.compared.emit(report)

    def _on_weights(self, weights: list) -> None:
        if self.report is not None:
            self.report.weights = weights
            self.weights_measured.emit(weights)

    def _fail(self, message: str) -> None:
        self.status.setText(message)
        self.failed.emit(message)

    def _show_status(self) -> None:
        r = self.report
        if r is None:
            return
        fd = r.first_divergence
        self.status.setText(
            f"{len(r.values)} values matched, {len(r.matching.unmatched_a)} removed, "
            f"{len(r.matching.unmatched_b)} added; first divergence: "
            + ("none" if fd is None else f"{fd.a}"))

    def _on_threshold(self, value: float) -> None:
        if self.report is not None:
            self.report.threshold = value
            self.report.first_divergence = first_divergence_of(self.report.values, value)
            self.panel.set_report(self.report)
            self._show_status()

    def match_selected(self) -> bool:
        """Match the node selected in A to the one selected in B, then compare again."""
        na, nb = self.view_a.selected_node(), self.view_b.selected_node()
        if na is None or nb is None:
            self.status.setText("Select a node in A and one in B first")
            return False
        self.manual = [(a, b) for a, b in self.manual if a != na.name and b != nb.name]
        self.manual.append((na.name, nb.name))
        self.start()
        return True

    # --- synchronising ---------------------------------------------------------------------

    def partners(self, name: str, side: str) -> tuple[str, ...]:
        """The nodes of the other side matched to node `name` of `side`."""
        if self.report is None:
            return ()
        m = self.report.matching
        mapping = m.a_to_b if side == "a" else m.b_to_a
        absorbed = m.absorbed_a if side == "a" else m.absorbed_b
        return mapping.get(name) or mapping.get(absorbed.get(name, ""), ())

    def _on_selected(self, node: object, side: str) -> None:
        if self._syncing or node is None:
            return
        others = self.partners(node.name, side)  # type: ignore[attr-defined]
        if not others:
            return
        self._syncing = True
        try:
            (self.view_b if side == "a" else self.view_a).select_node(others[-1], center=True)
        finally:
            self._syncing = False
        if side == "a" and self.report is not None:
            pairs = self.report.matching.pairs
            pair = next((p for p in pairs if node.name in p.a_nodes), None)  # type: ignore[attr-defined]
            if pair is None:  # fused into its partner: show the value the partner computes
                pair = next((p for p in pairs if set(p.b_nodes) & set(others)), None)
            if pair is not None:
                self.panel.show_value(pair.a)

    def _on_value_row(self, diff: object) -> None:
        if self.report is None or self._syncing:
            return
        pair = next((p for p in self.report.matching.pairs if p.a == diff.a), None)  # type: ignore[attr-defined]
        if pair is None:
            return
        self._syncing = True
        try:
            self.view_a.select_node(pair.a_nodes[-1], center=True)
            self.view_b.select_node(pair.b_nodes[-1], center=True)
        finally:
            self._syncing = False

    def _on_scrolled(self, view: GraphView) -> None:
        if not self._syncing and self.report is not None:
            self._scroll_source = view
            self._scroll_timer.start()

    def _sync_scroll(self) -> None:
        """Centre the other view on the partner of the node nearest this view's centre."""
        src = self._scroll_source
        data = src.scene_data if src is not None else None
        if data is None or not data.index_of_node:
            return
        side = "a" if src is self.view_a else "b"
        dst = self.view_b if side == "a" else self.view_a
        dst_data = dst.scene_data
        if dst_data is None:
            return
        cx, cy = src._world_center()
        best, best_d = None, float("inf")
        for name, i in data.index_of_node.items():
            if not self.partners(name, side):
                continue
            x, y = src._item_center(i)
            d = (x - cx) ** 2 + (y - cy) ** 2
            if d < best_d:
                best, best_d = name, d
        if best is None:
            return
        target = next((dst_data.index_of_node[p] for p in self.partners(best, side)
                       if p in dst_data.index_of_node), None)
        if target is None:
            return
        self._syncing = True
        try:
            dst.center_on(*dst._item_center(target))
        finally:
            self._syncing = False

    def cancel(self) -> None:
        """Stop the comparison running in the background."""
        for job in (self.job, self.load_job, self.weights_job):
            job.cancel()
