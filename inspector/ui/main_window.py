"""The main window: model tabs, the properties, find and inspect docks, menus, status bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QFrame,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QScrollArea,
    QTabBar,
    QTabWidget,
    QToolButton,
)

from inspector.ir import Node
from inspector.ui import dialogs
from inspector.ui.find_panel import FindPanel
from inspector.ui.gallery import SampleGallery
from inspector.ui.model_tab import ModelTab
from inspector.ui.open_files import expand_paths, file_dialog_filter
from inspector.ui.sidebar import PropertiesPanel
from inspector.ui.theme import apply_theme, resolve_theme

if TYPE_CHECKING:
    from inspector.ui.inspect_dock import InspectDock

MAX_RECENT = 9
#: Progress shows only for work that lasts longer than this (a third of a second).
PROGRESS_DELAY_MS = 330
#: On a first run the Inspect dock takes this share of the window's height.
FIRST_RUN_INSPECT = 0.24


class MainWindow(QMainWindow):
    """Tabs of open models with docks that follow the current tab."""

    tab_opened = Signal(str)

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings()
        self.setWindowTitle("Model Inspector")
        self.setAcceptDrops(True)
        self.resize(1400, 900)
        self.tabs = QTabWidget(self)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.setDocumentMode(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.gallery = SampleGallery(self)
        self.gallery.file_chosen.connect(lambda p: self.open_paths([p]))
        self.tabs.addTab(self.gallery, "Samples")
        # The gallery is the home page: it has no close button (closing it did nothing).
        self.tabs.tabBar().setTabButton(0, QTabBar.ButtonPosition.RightSide, None)
        self.tabs.tabBar().setTabButton(0, QTabBar.ButtonPosition.LeftSide, None)
        self.setCentralWidget(self.tabs)

        self.properties = PropertiesPanel(self)
        self.find_panel = FindPanel(self)
        self._inspect: InspectDock | None = None
        self.properties_dock = self._dock("Properties", self.properties, Qt.DockWidgetArea.RightDockWidgetArea)
        self.find_dock = self._dock("Find", self.find_panel, Qt.DockWidgetArea.LeftDockWidgetArea)
        # The Inspect panels' tool row is ~1060 px wide at minimum: without a scroll area it
        # would stop the window from being narrower than that (a 1024 px laptop, a tiled half).
        # The Inspect panels (and pyqtgraph, ~0.3 s of imports) are built once the first graph
        # is on screen, or as soon as something asks for them (see `inspect`).
        self._inspect_scroll = QScrollArea(self)
        self._inspect_scroll.setWidgetResizable(True)
        self._inspect_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.inspect_dock = self._dock("Inspect", self._inspect_scroll, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.find_dock.hide()
        self._docks_before_compare: list[bool] | None = None  # dock visibility under a comparison
        self.properties.node_requested.connect(self._select_node_name)
        self.properties.value_requested.connect(self.properties.show_value)
        self.properties.subgraph_requested.connect(self._enter_subgraph)
        self.find_panel.node_chosen.connect(self._select_node_name)
        self.find_panel.matches_changed.connect(self._highlight)

        self._progress = QProgressBar(self)
        self._progress.setMaximumWidth(220)
        self._progress.setRange(0, 1000)
        self._progress_label = QLabel(self)
        self._cancel = QToolButton(self)
        self._cancel.setText("Cancel")
        self._cancel.clicked.connect(self.cancel_current)
        for w in (self._progress_label, self._progress, self._cancel):
            self.statusBar().addPermanentWidget(w)
            w.hide()
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.timeout.connect(self._show_progress)

        self._build_menus()
        self._restore_settings()
        self.theme = "system"
        saved_theme = str(self.settings.value("theme", "system"))
        if saved_theme in ("light", "dark"):
            self.set_theme(saved_theme)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        # With no model to show, the panels are built as soon as the window has painted.
        QTimer.singleShot(0, self._build_inspect_when_idle)

    @property
    def inspect(self) -> InspectDock:
        """The Inspect panels, built on first use."""
        if self._inspect is None:
            from inspector.ui.inspect_dock import InspectDock

            self._inspect = InspectDock(self)
            self._inspect_scroll.setWidget(self._inspect)
            self._inspect.run_requested.connect(self._run_current)
            self._inspect.backprop_requested.connect(self._backprop_current)
            self._inspect.error_raised.connect(lambda msg: dialogs.show_error(self, msg))
            self._inspect.set_palette(resolve_theme(self.theme))
            self._inspect.set_tab(self.current_tab())
        return self._inspect

    def _build_inspect_when_idle(self) -> None:
        # A model that is opening gets its graph painted first (the panels follow its paint).
        if self._inspect is None and not any(t.model is None for t in self.model_tabs()):
            _ = self.inspect

    def _on_first_paint(self) -> None:
        if self._inspect is None:
            QTimer.singleShot(0, lambda: self.inspect)

    # --- building ----------------------------------------------------------------------------

    def _dock(self, title: str, widget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, menu: QMenu, text: str, slot, shortcut=None, checkable=False) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        menu.addAction(act)
        self.addAction(act)
        return act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "&Open…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.recent_menu = f.addMenu("Open &Recent")
        self._action(f, "Compare &with…", self.compare_dialog, "Ctrl+Shift+O")
        f.addSeparator()
        self._action(f, "&Export as PNG…", lambda: self.export_current("png"), "Ctrl+Shift+E")
        self._action(f, "Export as &SVG…", lambda: self.export_current("svg"), "Ctrl+Alt+E")
        f.addSeparator()
        self._action(f, "&Close Tab", lambda: self.close_tab(self.tabs.currentIndex()), QKeySequence.StandardKey.Close)
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = bar.addMenu("&Edit")
        self._action(e, "&Find…", self.show_find, QKeySequence.StandardKey.Find)
        v = bar.addMenu("&View")
        self.act_attrs = self._action(v, "Show &Attributes", self._apply_view_options, "Ctrl+D", True)
        self.act_weights = self._action(v, "Show &Weights", self._apply_view_options, "Ctrl+I", True)
        self.act_names = self._action(v, "Show &Names", self._apply_view_options, "Ctrl+U", True)
        self.act_horizontal = self._action(v, "&Horizontal Layout", self._apply_view_options, "Ctrl+K", True)
        v.addSeparator()
        self._action(v, "Zoom &In", lambda: self._view_call("zoom_in"), QKeySequence.StandardKey.ZoomIn)
        self._action(v, "Zoom &Out", lambda: self._view_call("zoom_out"), QKeySequence.StandardKey.ZoomOut)
        self._action(v, "&Fit to Window", lambda: self._view_call("fit"), "Ctrl+0")
        v.addSeparator()
        self._action(v, "E&xpand All Groups", lambda: self._view_call("expand_all"), "Ctrl+Shift+Down")
        self._action(v, "&Collapse All Groups", lambda: self._view_call("collapse_all"), "Ctrl+Shift+Up")
        self._action(v, "&Leave Subgraph", lambda: self._view_call("leave_subgraph"), "Alt+Up")
        v.addSeparator()
        theme = v.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for name in ("system", "light", "dark"):
            act = self._action(theme, name.capitalize(), lambda _c=False, n=name: self.set_theme(n),
                               checkable=True)
            self.theme_group.addAction(act)
            self.theme_actions[name] = act
        self.theme_actions["system"].setChecked(True)
        v.addSeparator()
        for dock in (self.properties_dock, self.find_dock, self.inspect_dock):
            v.addAction(dock.toggleViewAction())
        r = bar.addMenu("&Run")
        self._action(r, "Run with &Random Input", lambda: self.inspect.request_input("random"), "Ctrl+R")
        self._action(r, "Run with &Zeros", lambda: self.inspect.request_input("zeros"))
        self._action(r, "Run with Input from &File…", lambda: self.inspect.request_input("file"), "Ctrl+Shift+R")
        self._action(r, "&Backpropagate", lambda: self.inspect.request_backprop(), "Ctrl+B")
        h = bar.addMenu("&Help")
        self._action(h, "&Keyboard and Mouse…", lambda: dialogs.show_shortcuts(self), "F1")
        self._action(h, "&About Model Inspector", lambda: dialogs.show_about(self))
        for act, key in (
            (self.act_attrs, "view/attributes"),
            (self.act_weights, "view/weights"),
            (self.act_names, "view/names"),
            (self.act_horizontal, "view/horizontal"),
        ):
            default = key != "view/horizontal" and key != "view/names"
            act.setChecked(self.settings.value(key, default, type=bool))
        self._rebuild_recent()

    # --- opening -----------------------------------------------------------------------------

    def open_dialog(self) -> None:
        """Ask for model files and open them."""
        tab = self.current_tab()
        start = str(Path(tab.path).parent) if tab is not None else ""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open model", start, file_dialog_filter())
        if paths:
            self.open_paths(paths)

    def open_paths(self, paths: list[str]) -> list[ModelTab]:
        """Open files (folders open the model files in them), each in its own tab."""
        files, problems = expand_paths(paths)
        for message in problems:
            dialogs.show_error(self, message)
        opened = []
        for path in files:
            existing = self._tab_for(path)
            if existing is not None:
                self.tabs.setCurrentWidget(existing)
                opened.append(existing)
                continue
            tab = ModelTab(path, self)
            tab.view.set_palette(resolve_theme(self.theme))
            tab.loaded.connect(lambda _m, t=tab: self._on_loaded(t))
            tab.load_failed.connect(lambda msg, det, t=tab: self._on_load_failed(t, msg, det))
            tab.load_job.cancelled.connect(lambda t=tab: self._on_load_cancelled(t))
            tab.job_failed.connect(lambda msg, det, t=tab: self._on_job_failed(t, msg, det))
            tab.progressed.connect(lambda f, m, t=tab: self._on_progress(t, f, m))
            tab.busy_changed.connect(lambda _b, t=tab: self._on_busy(t))
            tab.activations_ready.connect(lambda _r, t=tab: self._on_results(t))
            tab.gradients_ready.connect(lambda _r, t=tab: self._on_results(t))
            tab.view.node_selected.connect(lambda n, t=tab: self._on_node_selected(t, n))
            tab.view.value_selected.connect(self.properties.show_value)
            tab.view.first_painted.connect(self._on_first_paint)
            self.tabs.addTab(tab, tab.title())
            self.tabs.setTabToolTip(self.tabs.indexOf(tab), tab.path)
            self.tabs.setCurrentWidget(tab)
            self._apply_view_options(tab)
            tab.start_loading()
            self._add_recent(tab.path)
            self.tab_opened.emit(tab.path)
            opened.append(tab)
        if opened:
            self.raise_()
            self.activateWindow()
        return opened

    def compare_dialog(self) -> None:
        """Compare the model in front (or a first chosen file) with another file."""
        current = self.current_tab()
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Compare with" if current else "Choose two models to compare", "",
            file_dialog_filter())
        if current is not None and len(paths) == 1:
            self.open_compare(current.path, paths[0])
        elif len(paths) == 2:
            self.open_compare(*paths)

    def open_compare(self, path_a: str, path_b: str) -> object:
        """Open a side-by-side comparison tab of two model files."""
        from inspector.ui.compare_tab import CompareTab

        tab = CompareTab(path_a, path_b, self)
        tab.failed.connect(lambda msg: dialogs.show_error(self, msg))
        self.tabs.addTab(tab, tab.title())
        self.tabs.setCurrentWidget(tab)
        tab.start()
        return tab

    def _tab_for(self, path: str) -> ModelTab | None:
        resolved = str(Path(path).resolve())
        for i in range(self.tabs.count()):
            w = self.tabs.widget(i)
            if isinstance(w, ModelTab) and w.path == resolved:
                return w
        return None

    def model_tabs(self) -> list[ModelTab]:
        """Every open model tab, in tab order."""
        return [w for i in range(self.tabs.count()) if isinstance(w := self.tabs.widget(i), ModelTab)]

    def current_tab(self) -> ModelTab | None:
        """The model tab in front, or None (the sample gallery)."""
        w = self.tabs.currentWidget()
        return w if isinstance(w, ModelTab) else None

    def close_tab(self, index: int) -> None:
        """Close a model tab, cancelling its work (the gallery stays)."""
        w = self.tabs.widget(index)
        if isinstance(w, ModelTab):
            w.cancel()
            # Cancelling a load may already have closed the tab (see _on_load_cancelled).
            index = self.tabs.indexOf(w)
            if index >= 0:
                self.tabs.removeTab(index)
            w.deleteLater()
        elif type(w).__name__ == "CompareTab":
            w.cancel()
            self.tabs.removeTab(index)
            w.deleteLater()

    def _on_loaded(self, tab: ModelTab) -> None:
        if tab is self.current_tab():
            self._on_tab_changed(self.tabs.currentIndex())
        if tab.model is not None and tab.model.warnings:
            self.statusBar().showMessage("; ".join(tab.model.warnings)[:300], 10000)

    def _on_load_failed(self, tab: ModelTab, message: str, details: str) -> None:
        index = self.tabs.indexOf(tab)
        if index >= 0:
            self.tabs.removeTab(index)
            tab.deleteLater()
        self._forget_recent(tab.path)
        dialogs.show_error(self, message, details)

    def _on_job_failed(self, tab: ModelTab, message: str, details: str) -> None:
        """A run or backprop failed: name the input to blame in one sentence when one can be
        (onnxruntime's own message goes behind Show Details)."""
        if tab.model is not None:
            from inspector.runtime.errors import RunError
            from inspector.runtime.inputs import explain_run_failure

            try:
                better = explain_run_failure(tab.model, tab.feeds, message)
            except (RunError, ValueError):
                better = None
            if better:
                details = f"{message}\n\n{details}".strip()
                message = better
        dialogs.show_error(self, message, details)

    def _on_load_cancelled(self, tab: ModelTab) -> None:
        # A tab whose load was cancelled has nothing to show: close it, quietly.
        if tab.model is None:
            index = self.tabs.indexOf(tab)
            if index >= 0:
                self.tabs.removeTab(index)
                tab.deleteLater()
            self.statusBar().showMessage(f"Cancelled opening {tab.title()}", 5000)

    # --- current tab -------------------------------------------------------------------------

    def _on_tab_changed(self, _index: int) -> None:
        tab = self.current_tab()
        self.find_panel.set_graph(tab.graph if tab and tab.model else None)
        if self._inspect is not None:
            self._inspect.set_tab(tab)
        if tab is not None and tab.model is not None:
            self.properties.show_model(tab.model, tab.graph)
            self.setWindowTitle(f"{tab.title()} — Model Inspector")
        else:
            self.properties.clear()  # a closed tab's model must not stay described
            self.setWindowTitle("Model Inspector")
        self._on_busy(tab)
        self._fit_docks_to(self.tabs.currentWidget())

    def _fit_docks_to(self, widget) -> None:
        """A comparison has its own values panel and nothing for Inspect or Properties to
        show: give it their room, and give them back as they were for a model tab."""
        comparing = type(widget).__name__ == "CompareTab"
        docks = (self.inspect_dock, self.properties_dock)
        if comparing and self._docks_before_compare is None:
            self._docks_before_compare = [d.isVisible() for d in docks]
            for d in docks:
                d.hide()
        elif not comparing and self._docks_before_compare is not None:
            for d, shown in zip(docks, self._docks_before_compare, strict=True):
                d.setVisible(shown)
            self._docks_before_compare = None

    def _on_node_selected(self, tab: ModelTab, node: Node | None) -> None:
        if tab is not self.current_tab():
            return
        if tab.graph is not None:
            self.properties.set_graph(tab.graph)
        self.properties.show_node(node)
        self.find_panel.set_selected(node.name if node is not None else None)
        if self._inspect is not None:
            self._inspect.show_node(node)

    def _select_node_name(self, name: str) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.view.select_node(name)

    def _highlight(self, names: set[str] | None) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.view.highlight(names)

    def _enter_subgraph(self, node_name: str, key: str) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.view.enter_subgraph(node_name, key)
            self.find_panel.set_graph(tab.graph)
            self.properties.set_graph(tab.graph)

    def _view_call(self, method: str) -> None:
        tab = self.current_tab()
        if tab is not None and tab.model is not None:
            getattr(tab.view, method)()

    def _apply_view_options(self, tab: ModelTab | None = None) -> None:
        self.settings.setValue("view/attributes", self.act_attrs.isChecked())
        self.settings.setValue("view/weights", self.act_weights.isChecked())
        self.settings.setValue("view/names", self.act_names.isChecked())
        self.settings.setValue("view/horizontal", self.act_horizontal.isChecked())
        tabs = [tab] if isinstance(tab, ModelTab) else self.model_tabs()
        for t in tabs:
            # Also before loading: the load worker lays the graph out with these options once.
            t.view.set_options(
                show_weights=self.act_weights.isChecked(),
                show_attributes=self.act_attrs.isChecked(),
                show_names=self.act_names.isChecked(),
                direction="LR" if self.act_horizontal.isChecked() else "TB",
            )

    def show_find(self) -> None:
        """Show the find dock with the cursor in its box."""
        self.find_dock.show()
        self.find_dock.raise_()
        self.find_panel.focus()

    def export_current(self, fmt: str, path: str | None = None) -> str | None:
        """Export the current graph to PNG or SVG (asks where unless `path`); the path written."""
        tab = self.current_tab()
        if tab is None or tab.model is None:
            return None
        if path is None:
            suggested = str(Path(tab.path).with_suffix(f".{fmt}").name)
            path, _ = QFileDialog.getSaveFileName(
                self, f"Export {fmt.upper()}", suggested, f"{fmt.upper()} (*.{fmt})"
            )
        if not path:
            return None
        try:
            (tab.view.export_png if fmt == "png" else tab.view.export_svg)(path)
        except (OSError, ValueError) as e:
            reason = getattr(e, "strerror", None) or str(e)
            dialogs.show_error(self, f"{Path(path).name}: cannot be written ({reason}).")
            return None
        self.statusBar().showMessage(f"Exported {path}", 5000)
        return str(path)

    def _run_current(self, feeds: object) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.run(feeds if isinstance(feeds, dict) else None)

    def _backprop_current(self, target: object, loss: str) -> None:
        tab = self.current_tab()
        if tab is not None:
            tab.backprop(target, loss)

    def _on_results(self, tab: ModelTab) -> None:
        if tab is not self.current_tab():
            return
        if self._inspect is not None:
            self._inspect.refresh()
        # Why another engine ran (a Keras layer not lowered, so tf2onnx ran the model): said
        # once where the user looks, until the next message replaces it.
        note = getattr(tab.activations, "note", "")
        if note:
            self.statusBar().showMessage(note)

    # --- progress ----------------------------------------------------------------------------

    def cancel_current(self) -> None:
        """Cancel the current tab's work."""
        tab = self.current_tab()
        if tab is not None:
            tab.cancel()
            self.statusBar().showMessage("Cancelled", 3000)

    def _on_progress(self, tab: ModelTab, fraction: float, message: str) -> None:
        if tab is self.current_tab():
            self._progress.setValue(int(fraction * 1000))
            self._progress_label.setText(message)

    def _on_busy(self, tab: ModelTab | None) -> None:
        if tab is not self.current_tab():
            return
        if tab is not None and tab.busy:
            if not self._progress.isVisible() and not self._progress_timer.isActive():
                self._progress.setValue(0)
                self._progress_timer.start(PROGRESS_DELAY_MS)
        else:
            self._progress_timer.stop()
            for w in (self._progress_label, self._progress, self._cancel):
                w.hide()

    def _show_progress(self) -> None:
        tab = self.current_tab()
        if tab is not None and tab.busy:
            for w in (self._progress_label, self._progress, self._cancel):
                w.show()

    # --- recent files and settings ----------------------------------------------------------

    def recent_files(self) -> list[str]:
        """Most recent first."""
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _add_recent(self, path: str) -> None:
        items = [path] + [p for p in self.recent_files() if p != path]
        self.settings.setValue("recent", items[:MAX_RECENT])
        self._rebuild_recent()

    def _forget_recent(self, path: str) -> None:
        self.settings.setValue("recent", [p for p in self.recent_files() if p != path])
        self._rebuild_recent()

    def _rebuild_recent(self) -> None:
        # Shortcuts of actions that live only in a closed submenu never fire: the actions are
        # also added to the window, and the old ones removed from it.
        for act in getattr(self, "_recent_actions", []):
            self.removeAction(act)
        self.recent_menu.clear()
        self._recent_actions: list[QAction] = []
        for i, path in enumerate(self.recent_files()):
            act = self.recent_menu.addAction(f"&{i + 1} {Path(path).name}")
            act.setToolTip(path)
            act.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            act.triggered.connect(lambda _c=False, p=path: self.open_paths([p]))
            self.addAction(act)
            self._recent_actions.append(act)
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def set_theme(self, name: str) -> None:
        """Switch between the system, light and dark themes (kept between runs)."""
        if name not in ("system", "light", "dark"):
            raise ValueError(f"theme must be system, light or dark, not {name!r}")
        self.theme = name
        self.settings.setValue("theme", name)
        palette = apply_theme(QApplication.instance(), name)
        for t in self.model_tabs():
            t.view.set_palette(palette)
        if self._inspect is not None:
            self._inspect.set_palette(palette)
        if name in getattr(self, "theme_actions", {}):
            self.theme_actions[name].setChecked(True)

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        state = self.settings.value("window/state")
        self._first_run = not (isinstance(state, QByteArray) and self.restoreState(state))
        if self._first_run:
            self._first_run_layout()

    def _first_run_layout(self) -> None:
        """The graph gets the most room: the Properties dock runs the full height on the right
        (the Inspect dock sits under the graph only), and Inspect starts at a quarter of the
        height (it scrolls). At 1600x1000 the old layout left the graph ~530 px of height."""
        self.resizeDocks([self.inspect_dock], [max(int(self.height() * FIRST_RUN_INSPECT), 180)],
                         Qt.Orientation.Vertical)
        self.resizeDocks([self.properties_dock], [min(340, max(self.width() // 5, 240))],
                         Qt.Orientation.Horizontal)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt API
        """On a first run, size the docks for the window's real size once it is shown."""
        super().showEvent(event)
        if getattr(self, "_first_run", False):
            self._first_run = False
            QTimer.singleShot(0, self._first_run_layout)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        """Save geometry and panel layout, cancel work, close."""
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()
        for t in self.model_tabs():
            t.cancel()
        super().closeEvent(event)

    # --- drag and drop -----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        """Accept file drops."""
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        """Open every dropped file (a folder opens the model files in it)."""
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        mods = event.modifiers()
        compare = mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        if paths and compare and self.current_tab() is not None and len(paths) == 1:
            # Ctrl/Alt-drop onto a model tab: compare that model with the dropped file.
            event.acceptProposedAction()
            self.open_compare(self.current_tab().path, paths[0])
        elif paths:
            event.acceptProposedAction()
            self.open_paths(paths)
