"""The Inspect dock: input, activations, weights, activation function, output, neurons,
gradients and the walkthrough for the selected node of the current tab.

It holds no results of its own: it reads the current `ModelTab`'s input, activations and
gradients, and asks the tab (through the window) to run or backpropagate.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QWidget,
)

from inspector.ir import Node
from inspector.runtime.errors import RunError
from inspector.ui.node_colors import STATISTICS, node_colors
from inspector.ui.panels import (
    ActivationFunctionPanel,
    ActivationPanel,
    InputEditor,
    NeuronView,
    OutputPanel,
    WeightPanel,
    activation_kind,
    find_labels,
    load_labels,
)
from inspector.ui.panels._common import ElidedLabel, FitLayout
from inspector.ui.panels.gradients import GradientsPanel
from inspector.ui.panels.input_options import InputChoice
from inspector.ui.panels.outputs import feature_names, manifest_entry
from inspector.ui.panels.training import TrainingPanel
from inspector.ui.walkthrough import WalkthroughPanel

_DATA_FILES = "Inputs (*.npy *.npz *.png *.jpg *.jpeg *.bmp *.gif *.csv);;All files (*)"
#: Feeds sent from slider edits that are remembered, to know a run's input came from the editor.
_EDIT_MEMORY = 8


def _mean_std(path: str, specs: list) -> tuple[list[float], list[float]] | None:
    """The manifest's standardization for a one-vector-input model (raw CSV rows need it)."""
    pre = manifest_entry(path).get("preprocessing")
    if not isinstance(pre, dict) or len(specs) != 1 or specs[0].shape is None:
        return None
    mean, std = pre.get("mean"), pre.get("std")
    width = specs[0].shape[-1]
    ok = all(isinstance(v, list) and len(v) == width and
             all(isinstance(x, int | float) for x in v) for v in (mean, std))
    return ([float(x) for x in mean], [float(x) for x in std]) if ok else None


class InspectDock(QWidget):
    """Run controls on top, one tab per view below."""

    run_requested = Signal(object)
    backprop_requested = Signal(object, str)
    error_raised = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tab: Any = None
        self.node: Node | None = None
        self.labels: list[str] | None = None
        bar = QHBoxLayout()
        self.input_kind = QComboBox(self)
        self.input_kind.addItems(["random", "zeros", "ones", "file…"])
        self.run_button = QPushButton("Run", self)
        self.run_button.setToolTip("Compute every layer's activation for this input (Ctrl+R)")
        self.target = QDoubleSpinBox(self)
        self.target.setDecimals(0)
        self.target.setRange(-1, 1_000_000)
        self.target.setValue(-1)
        self.target.setSpecialValueText("argmax")
        self.target.setToolTip("Target class (or value for MSE); 'argmax' uses the predicted class")
        self.loss = QComboBox(self)
        self.loss.addItems(["ce", "mse"])
        self.backprop_button = QPushButton("Backprop", self)
        self.color_by = QComboBox(self)
        self.color_by.addItems(["colour: category", *STATISTICS])
        self.labels_button = QPushButton("Labels…", self)
        for w in (QLabel("Input", self), self.input_kind, self.run_button, QLabel("target", self),
                  self.target, self.loss, self.backprop_button, self.color_by, self.labels_button):
            bar.addWidget(w)
        # The status takes the rest of the row, shortened to it: its whole text held the
        # dock ~90 px wider than a 1200 px window gives it, and the dock scrolled.
        self.status = ElidedLabel("", self)
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar.addWidget(self.status, 1)

        self.views = QTabWidget(self)
        self.input_editor = InputEditor(self)
        self.activation_panel = ActivationPanel(self)
        self.weight_panel = WeightPanel(self)
        self.function_panel = ActivationFunctionPanel(self)
        self.output_panel = OutputPanel(self)
        self.neuron_view = NeuronView(self)
        self.gradients_panel = GradientsPanel(self)
        self.training_panel = TrainingPanel(self)
        self.walkthrough = WalkthroughPanel(self)
        for w, name in (
            (self.input_editor, "Input"),
            (self.activation_panel, "Activations"),
            (self.weight_panel, "Weights"),
            (self.function_panel, "Activation function"),
            (self.output_panel, "Output"),
            (self.neuron_view, "Neurons"),
            (self.gradients_panel, "Gradients"),
            (self.training_panel, "Training"),
            (self.walkthrough, "Walkthrough"),
        ):
            self.views.addTab(w, name)
        lay = FitLayout(self)  # laid out to the dock's height, not its preferred one
        lay.setContentsMargins(2, 2, 2, 2)
        lay.setSpacing(2)
        lay.addLayout(bar)
        lay.addWidget(self.views, 1)
        self._size_to_current_view()

        self.run_button.clicked.connect(self._run_clicked)
        self.views.currentChanged.connect(self._view_changed)
        self.backprop_button.clicked.connect(self.request_backprop)
        self.color_by.currentIndexChanged.connect(lambda _i: self._recolor())
        self.labels_button.clicked.connect(self._pick_labels)
        self.input_editor.inputs_edited.connect(self._inputs_edited)
        self.input_editor.input_requested.connect(lambda kind, path: self.request_input(kind, path))
        self.walkthrough.step_changed.connect(self._walk_to)
        self.gradients_panel.node_clicked.connect(self._select)
        self.input_editor.options.options_changed.connect(self._options_changed)
        # One InputChoice per tab: options stay with their model and die with its tab.
        self._choices: weakref.WeakKeyDictionary[Any, InputChoice] = weakref.WeakKeyDictionary()
        self._edit_feeds: list[dict] = []  # feeds sent from editor edits, newest last
        self._pending: dict | None = None  # the newest edit, held while a run is in flight
        self._shown_input: tuple[Any, Any] | None = None  # (feeds, feature names) on screen
        self.setEnabled(False)

    # --- the current tab ---------------------------------------------------------------------

    def set_tab(self, tab: Any) -> None:
        """Follow another model tab (None: nothing to show)."""
        self.tab = tab
        self.node = None
        self.setEnabled(tab is not None and tab.model is not None)
        self.labels, self.labels_source = None, ""
        self.features: list[str] | None = None
        self._edit_feeds, self._pending = [], None
        self._set_status("")  # an error or timing of the previous tab is not this tab's
        self.input_editor.set_inputs([], {})  # the next refresh shows this tab's input
        self._shown_input = None
        # The input selector shows this tab's own kind, never the closed or previous tab's.
        choice = self._choices.get(tab) if tab is not None else None
        self._show_kind(choice.kind if choice is not None else
                        getattr(tab, "input_kind", "random") if tab is not None else "random")
        if tab is None or tab.model is None:
            self.input_editor.options.set_specs([], InputChoice())
        self.input_editor.set_model(tab.model if tab is not None else None)
        if tab is not None and tab.model is not None:
            self.labels, self.labels_source = find_labels(tab.path, tab.model.metadata)
            self.features = feature_names(tab.path)
            self._show_options(tab)
            if tab.feeds is None:  # name the inputs that wait for a value
                graph = tab.model.graph
                self.input_editor.set_inputs(
                    [graph.value(n) for n in graph.inputs if n not in graph.initializers], {})
        for panel in (self.activation_panel, self.weight_panel, self.function_panel,
                      self.output_panel, self.neuron_view, self.gradients_panel):
            panel.clear()
        self._explain_empty()
        model = tab.model if tab is not None else None
        self.training_panel.set_model(tab.path if model is not None else None,
                                      model.format if model is not None else "",
                                      list(model.graph.inputs) if model is not None else [])
        self.refresh()

    def set_palette(self, name: str) -> None:
        """Light or dark plots, to match the window's theme."""
        from inspector.ui.panels._common import apply_plot_theme

        apply_plot_theme(self, name)

    def _kind(self) -> str:
        text = self.input_kind.currentText()
        return "file" if text.startswith("file") else text

    def _run_clicked(self) -> None:
        # Run again with the file already chosen rather than asking for it each time.
        choice = self.choice()
        kind = self._kind()
        path = choice.path if choice is not None and kind == "file" else None
        self.request_input(kind, path)

    def _show_kind(self, kind: str) -> None:
        index = {"random": 0, "zeros": 1, "ones": 2, "file": 3}.get(kind)
        if index is not None:
            self.input_kind.blockSignals(True)
            self.input_kind.setCurrentIndex(index)
            self.input_kind.blockSignals(False)

    def choice(self) -> InputChoice | None:
        """The current tab's input options (seed, dims, scaling, CSV row, last kind and file)."""
        return self._choices.get(self.tab) if self.tab is not None else None

    def _show_options(self, tab: Any) -> None:
        from inspector.runtime.inputs import input_specs

        choice = self._choices.get(tab)
        if choice is None:
            choice = self._choices[tab] = InputChoice(kind=getattr(tab, "input_kind", "random"))
            job = getattr(tab, "run_job", None)
            if job is not None:
                # Edits made while a run is in flight wait for it (see _inputs_edited).
                job.busy_changed.connect(lambda busy, t=tab: self._run_idle(t, busy))
        try:
            specs = input_specs(tab.model)
        except RunError:
            specs = []
        self.input_editor.options.set_specs(specs, choice, _mean_std(tab.path, specs))

    def request_input(self, kind: str, path: str | None = None, *, quiet: bool = False) -> bool:
        """Make the input of `kind` (random, zeros, ones, file) with the tab's options and run
        the model on it. A bad input leaves the old one and says why in one sentence (in the
        status line, and through error_raised unless `quiet`); returns True when it ran."""
        if self.tab is None or self.tab.model is None:
            return False
        choice = self.choice()
        if choice is None:
            self._show_options(self.tab)
            choice = self.choice()
        assert choice is not None
        if kind == "file" and not path:
            path, _ = QFileDialog.getOpenFileName(self, "Input file", str(Path(self.tab.path).parent),
                                                  _DATA_FILES)
            if not path:
                return False
        if kind == "file":
            self.input_editor.options.set_file(path)
        try:
            feeds = self.tab.make_feeds(kind, path, seed=choice.seed, dims=dict(choice.dims),
                                        scaling=choice.scaling, row=choice.row,
                                        mean_std=self.input_editor.options.csv_mean_std())
        except (RunError, ValueError, MemoryError) as e:
            text = "Not enough memory for this input." if isinstance(e, MemoryError) else str(e)
            self._fail(" ".join(text.split()), quiet)
            return False
        choice.kind = kind
        if kind == "file":
            choice.path = path
        self._show_kind(kind)
        self._edit_feeds, self._pending = [], None
        self._set_status(f"input: {kind if kind != 'file' else Path(path or '').name}")
        self.run_requested.emit(feeds)
        return True

    def _fail(self, message: str, quiet: bool) -> None:
        self._set_status(message, error=True)
        if not quiet:
            self.error_raised.emit(message)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setToolTip(text)
        self.status.setStyleSheet("color: #b00020;" if error else "")

    def _options_changed(self) -> None:
        # A new seed, dim, scaling or row remakes the current input at once, so what is shown
        # always matches the options; errors stay in the status line (no dialog per keystroke).
        choice = self.choice()
        tab = self.tab
        if choice is None or tab is None or tab.model is None or tab.feeds is None:
            return
        if choice.kind == "file" and not choice.path:
            return
        self.request_input(choice.kind, choice.path, quiet=True)

    def request_backprop(self) -> None:
        """Backpropagate the chosen loss for the current input."""
        if self.tab is None or self.tab.model is None:
            return
        value = self.target.value()
        target: int | float | None = None if value < 0 else int(value)
        if self.loss.currentText() == "mse" and value >= 0:
            target = float(value)
        self.backprop_requested.emit(target, self.loss.currentText())

    def _inputs_edited(self, feeds: dict) -> None:
        tab = self.tab
        if tab is None or tab.model is None:
            return
        feeds = dict(feeds)
        self._edit_feeds = [*self._edit_feeds[-(_EDIT_MEMORY - 1):], feeds]
        job = getattr(tab, "run_job", None)
        if job is not None and job.busy:
            # Only the newest edit matters: hold it until the running job is done instead
            # of starting (and abandoning) a run for every slider step.
            self._pending = feeds
            return
        self.run_requested.emit(feeds)

    def _run_idle(self, tab: Any, busy: bool) -> None:
        if not busy and tab is self.tab and self._pending is not None:
            # Queued: busy_changed is emitted from inside the job slot's own bookkeeping.
            QTimer.singleShot(0, self._flush_pending)

    def _flush_pending(self) -> None:
        tab, feeds = self.tab, self._pending
        job = getattr(tab, "run_job", None)
        if feeds is None or tab is None or (job is not None and job.busy):
            return
        self._pending = None
        self.run_requested.emit(feeds)

    def _pick_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Class labels", "", "Labels (*.txt *.json)")
        if path:
            try:
                self.labels = load_labels(path)
            except (OSError, ValueError) as e:
                self.error_raised.emit(f"{Path(path).name}: cannot read labels ({e}).")
                return
            self._show_output()

    # --- showing -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw everything from the tab's newest input and results."""
        tab = self.tab
        if tab is None or tab.model is None:
            return
        self.setEnabled(True)
        if tab.feeds is not None and not any(tab.feeds is f for f in self._edit_feeds) \
                and tab.feeds is not self._pending:
            # Feeds that came from the editor are already on screen, and rebuilding the
            # sliders would drop the one being dragged: only a new input is shown afresh.
            graph = tab.model.graph
            names = [n for n in graph.inputs if n in tab.feeds]
            features = {names[0]: self.features} if self.features and len(names) == 1 and \
                np.asarray(tab.feeds[names[0]]).size == len(self.features) else None
            # Each result refreshes the dock; the input on screen is rebuilt only when it is
            # another input (its plots took 29 ms of the GUI thread per BERT backprop).
            shown = self._shown_input
            if shown is None or shown[0] is not tab.feeds or shown[1] != features:
                self.input_editor.set_inputs([graph.value(n) for n in names], tab.feeds, features)
                self._shown_input = (tab.feeds, features)
        acts = tab.activations
        parts = [f"{len(acts.values)} activations in {acts.seconds * 1000:.0f} ms"] if acts else []
        if tab.gradients is not None:
            parts.append(f"loss {tab.gradients.loss:.4g}")
        if parts:
            self._set_status("; ".join(parts))
        self._show_output()
        self._show_neurons()
        self._show_gradients()
        self.training_panel.set_current(tab.feeds, self.current_target())
        self.walkthrough.set_steps(tab.model, acts.values if acts else None,
                                   tab.gradients.values if tab.gradients else None, tab.graph)
        self._recolor()
        self.show_node(self.node)

    def show_node(self, node: Node | None) -> None:
        """Show the selected node's activation, weights and activation function; with no
        node selected after a run, the last node's. A panel with nothing says why."""
        self.node = node
        tab = self.tab
        if tab is None or tab.model is None:
            self._explain_empty()
            return
        acts = tab.activations.values if tab.activations else {}
        graph = tab.model.graph
        self._show_weights(node if node is not None else
                           self._last_node(lambda n: bool(n.weights)))
        shown = node if node is not None else self._last_node(
            lambda n: bool(self._keys(n)))
        keys = self._keys(shown) if shown is not None else []
        if shown is None:
            self.activation_panel.clear()
            self.activation_panel.set_empty(
                "Run the model (Run, Ctrl+R) to see what each layer outputs for one input."
                if tab.activations is None else "This run produced no values to show.")
        elif keys:
            layout = "NHWC" if tab.model.format == "keras" else None
            self.activation_panel.set_empty("")
            self.activation_panel.set_activation(shown, keys[0], acts[keys[0]], layout)
            if node is None:
                self.activation_panel.set_notes(
                    [*self.activation_panel.notes(),
                     "showing the last node: select a node in the graph to see another"])
        else:
            self.activation_panel.clear()
            self.activation_panel.set_empty(self._why_no_value(shown))
        self._show_function(node)
        if tab.gradients is not None:
            gnode = node if node is not None else self._last_node(
                lambda n: any(k in tab.gradients.values for k in (*self._keys(n), *n.outputs)))
            gkeys = [] if gnode is None else [
                k for k in (*self._keys(gnode), *gnode.outputs, gnode.name)
                if k in tab.gradients.values]
            self.gradients_panel.show_node(gnode, gkeys[0] if gkeys else None,
                                           "NHWC" if tab.model.format == "keras" else None)
            vp = self.gradients_panel.value_panel
            if gnode is None:
                vp.set_empty("No node has a gradient for this loss.")
            elif not gkeys:
                why = tab.gradients.uncovered.get(gnode.name) if hasattr(
                    tab.gradients, "uncovered") else None
                vp.set_empty(self._why_no_value(gnode) if gnode not in graph.nodes else
                             f"{gnode.name}: {why or 'no gradient was computed here'}.")
            else:
                vp.set_empty("")

    # --- empty states ------------------------------------------------------------------------

    def _keys(self, node: Node | None) -> list[str]:
        tab = self.tab
        if node is None or tab is None or tab.activations is None:
            return []
        acts = tab.activations.values
        return [k for k in tab.activations.by_node.get(node.name, []) if k in acts]

    def _last_node(self, ok: Any) -> Node | None:
        """The last node of the main graph passing `ok`, once the model has run."""
        tab = self.tab
        if tab is None or tab.model is None or tab.activations is None:
            return None
        for n in reversed(tab.model.graph.nodes):
            if n.category != "constant" and ok(n):
                return n
        return None

    def _owner(self, node: Node) -> tuple[Node, str] | None:
        """(the If/Loop/Scan node, attribute) whose body holds `node`, or None."""
        for _g, n in self.tab.model.graph.walk():
            for key, sub in n.subgraphs:
                if any(m is node for m in sub.nodes):
                    return n, key
        return None

    def _why_no_value(self, node: Node) -> str:
        """One line on why `node` has no value to show for this run."""
        tab = self.tab
        if tab.activations is None:
            return f"Run the model (Run, Ctrl+R) to see what {node.name} outputs."
        owner = self._owner(node)
        if owner is not None:
            op, key = owner[0].op_type, owner[1]
            if op == "If":
                cond = tab.activations.values.get(owner[0].inputs[0]) if owner[0].inputs else None
                ran = "" if cond is None else (
                    f" (this run took the {'then' if bool(np.asarray(cond).reshape(-1)[0]) else 'else'}"
                    f"_branch)")
                return (f"{node.name} is inside the {key} of If '{owner[0].name}'{ran}: "
                        f"onnxruntime does not expose values inside a branch; select "
                        f"'{owner[0].name}' for the branch's outputs.")
            return (f"{node.name} is inside the {key} of {op} '{owner[0].name}': its values "
                    f"change every iteration and onnxruntime does not expose them; select "
                    f"'{owner[0].name}' for the final outputs.")
        skipped = getattr(tab.activations, "skipped", {}) or {}
        for out in node.outputs:
            if out in skipped:
                return f"{node.name}: {skipped[out]}"
        if node.category == "constant" or not node.outputs:
            return f"{node.name} ({node.op_type}) is a constant: it has no per-input value."
        return f"{node.name} produced no value that can be shown in this run."

    def _example(self, ok: Any) -> Node | None:
        tab = self.tab
        return next((n for n in tab.model.graph.nodes if ok(n)), None) if tab and tab.model \
            else None

    def _show_weights(self, node: Node | None) -> None:
        tab = self.tab
        panel = self.weight_panel
        example = self._example(lambda n: bool(n.weights))
        such = f" such as '{example.name}' ({example.op_type})" if example else ""
        if node is None or not node.weights:
            panel.clear()
            if example is None:
                panel.set_empty("This model has no weights to show.")
            elif node is None:
                panel.set_empty(f"Select a node with weights{such} to see them.")
            else:
                panel.set_subject(node.name)
                panel.set_empty(f"{node.op_type} has no weights; select a node with "
                                f"weights{such}.")
            return
        panel.set_empty("")
        panel.set_weights(node)
        grads = tab.gradients.values if tab.gradients else {}
        w = panel.current_weight()
        panel.set_gradient(grads.get(f"{node.name}/{w.name}") if w else None)
        if node is not self.node:
            panel.set_notes([*panel.notes(), "showing the last node with weights: select "
                             "another node in the graph"])

    def _show_function(self, node: Node | None) -> None:
        tab = self.tab
        panel = self.function_panel
        example = self._example(lambda n: activation_kind(n) is not None)
        such = f" such as '{example.name}'" if example else ""
        target = node if node is not None else self._last_node(
            lambda n: activation_kind(n) is not None)
        kind = activation_kind(target) if target is not None else None
        if kind is None:
            panel.clear()
            if example is None:
                panel.set_empty("This model has no activation-function node (Relu, Sigmoid, "
                                "Tanh, Softmax, ...).")
            elif target is None:
                panel.set_empty(f"Select an activation node{such} ({example.op_type}) to see "
                                f"its curve.")
            else:
                panel.set_empty(f"{target.op_type} has no activation function; select a "
                                f"{example.op_type}{such}.")
            return
        panel.set_empty("")
        name, params = kind
        keys = self._keys(target)
        acts = tab.activations.values if tab.activations else {}
        if not keys:
            panel.set_function(name, None, None, params)
            panel.set_notes([self._why_no_value(target)])
            return
        pre = acts.get(f"{target.name}/preact")
        if pre is None and tab.model.format == "onnx" and target.inputs:
            pre = acts.get(target.inputs[0])
        if pre is None and target.op_type in ("Activation", "ReLU", "Softmax", "LeakyReLU", "ELU"):
            producer = tab.graph.producer(target.inputs[0]) if target.inputs else None
            pre = acts.get(producer.name) if producer is not None else None
        panel.set_function(name, pre, acts[keys[0]], params)

    def _explain_empty(self) -> None:
        """Give every empty panel its one line: what to do, or why there is nothing."""
        tab = self.tab
        if tab is None or tab.model is None:
            msg = "No model open: open a file (Ctrl+O), drop one here or choose a sample."
            for panel in (self.activation_panel, self.weight_panel, self.function_panel,
                          self.output_panel, self.neuron_view):
                panel.set_empty(msg)
            self.gradients_panel.value_panel.set_empty(msg)
            return
        run = "Run the model (Run, Ctrl+R) to see"
        if tab.activations is None:
            self.output_panel.set_empty(f"{run} what it outputs for one input.")
            self.neuron_view.set_empty(f"{run} its units and weights.")
        if tab.gradients is None:
            self.gradients_panel.value_panel.set_empty(
                "Press Backprop (Ctrl+B) to see d loss / d output of the selected node.")
        self.show_node(self.node)

    def current_target(self) -> np.ndarray | None:
        """The target for training on the current input: the spin box's class or value, or
        with 'argmax' the class the model predicts now (for MSE: its current output)."""
        tab = self.tab
        value = self.target.value()
        if value >= 0:
            return np.array([value], dtype=np.float64)
        if tab is None or tab.activations is None or not tab.activations.outputs:
            return None
        out = np.asarray(next(iter(tab.activations.outputs.values())), dtype=np.float64)
        if self.loss.currentText() == "mse":
            return out
        row = out.reshape(out.shape[0] if out.ndim > 1 else 1, -1)
        # One sigmoid unit: class 1 when p > 0.5; otherwise the largest score.
        return (row[:, 0] > 0.5).astype(np.float64) if row.shape[1] == 1 else \
            np.argmax(row, axis=1).astype(np.float64)

    def _show_gradients(self) -> None:
        tab = self.tab
        if tab is None or tab.gradients is None:
            self.gradients_panel.clear()
            self.gradients_panel.value_panel.set_empty(
                "Press Backprop (Ctrl+B) to see d loss / d output of the selected node.")
            return
        self.gradients_panel.set_result(tab.gradients, tab.graph or tab.model.graph)
        inputs = tab.model.graph.inputs
        if tab.feeds and inputs and inputs[0] in tab.feeds:
            hint = "NHWC" if tab.model.format == "keras" else None
            self.gradients_panel.set_saliency(inputs[0], np.asarray(tab.feeds[inputs[0]]), hint,
                                              self.features)

    def _select(self, name: str) -> None:
        if self.tab is not None:
            self.tab.view.select_node(name)

    def _show_output(self) -> None:
        tab = self.tab
        if tab is None or tab.activations is None or not tab.activations.outputs:
            return
        from inspector.runtime.output_views import vocabulary_from_metadata

        vocab = vocabulary_from_metadata(tab.model.metadata)
        self.output_panel.set_outputs(dict(tab.activations.outputs), self.labels or vocab)

    def _show_neurons(self) -> None:
        from inspector.runtime.dense_layers import dense_layers

        tab = self.tab
        layers = dense_layers(tab.model, tab.feeds, tab.activations) if tab and tab.activations else None
        if layers:
            self.neuron_view.set_empty("")
            self.neuron_view.set_network(layers)
        elif tab is not None and tab.activations is not None:
            self.neuron_view.clear()
            self.neuron_view.set_empty(
                "Neurons draws small fully connected networks (a chain of Dense/Gemm/MatMul "
                "layers); this model is not one: see Activations and Weights.")

    def _recolor(self) -> None:
        tab = self.tab
        if tab is None or tab.model is None:
            return
        stat = self.color_by.currentText()
        if stat.startswith("colour"):
            tab.view.set_node_colors(None, None)
            return
        colors, legend = node_colors(tab.model, tab.graph, stat, tab.activations, tab.gradients)
        tab.view.set_node_colors(colors, legend)

    def _size_to_current_view(self) -> None:
        # A QStackedWidget is as tall and wide as its largest page, shown or not: the
        # Gradients page's minimum made the Input page scroll in a first-run dock. Hidden
        # pages ignore their size hints, so only the shown page sets the dock's minimum.
        current = self.views.currentWidget()
        for i in range(self.views.count()):
            page = self.views.widget(i)
            p = QSizePolicy.Policy.Preferred if page is current else QSizePolicy.Policy.Ignored
            page.setSizePolicy(p, p)
        self.views.updateGeometry()
        self.updateGeometry()

    def _view_changed(self, _index: int) -> None:
        self._size_to_current_view()
        # The walkthrough dims the graph around its step; leaving it gives the whole graph back.
        if self.views.currentWidget() is not self.walkthrough and self.tab is not None:
            self.tab.view.highlight(None)

    def _walk_to(self, step: Any) -> None:
        tab = self.tab
        if tab is None or step is None:
            return
        tab.view.select_node(step.node.name)
        near = {step.node.name}
        for v in step.inputs:
            p = tab.graph.producer(v)
            if p is not None:
                near.add(p.name)
        tab.view.highlight(near)
