"""Shared pieces of the panels: the base widget (title, note, stats text, clear), plot
factories with readable light styling, the histogram plot and feature-map tiling."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from inspector.runtime.stats import Summary, histogram
from inspector.ui.plot_axes import install as install_axes

# Without this a 4x8 matrix is drawn transposed (NOTES.md); set before any ImageItem exists.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
# Tick labels never run into each other on any axis, at any plot width (see plot_axes.py).
install_axes()

_FG = "#222222"
#: The widest a note beside a panel's title is kept before it wraps.
NOTE_WIDTH = 320
#: A histogram still reads (ticks, the count caption and ~35 px of bars) at this height:
#: at 96 px it held the Inspect dock's pages taller than a 1200x800 first-run dock.
HISTOGRAM_MIN_HEIGHT = 64
#: Below this height the histogram drops its "value" caption (the ticks are the values).
HISTOGRAM_CAPTION_HEIGHT = 110


def make_plot(parent: QWidget | None = None, *, x_label: str = "", y_label: str = "",
              invert_y: bool = False) -> pg.PlotWidget:
    """A white-background PlotWidget with dark, labelled axes (readable in screenshots)."""
    w = pg.PlotWidget(parent=parent, background="w")
    item = w.getPlotItem()
    for name in ("left", "bottom"):
        ax = item.getAxis(name)
        ax.setPen(pg.mkPen(_FG))
        ax.setTextPen(pg.mkPen(_FG))
    if x_label:
        item.setLabel("bottom", x_label, color=_FG)
    if y_label:
        item.setLabel("left", y_label, color=_FG)
    item.setMenuEnabled(False)
    if invert_y:
        item.invertY(True)  # matrices read top-down, like imshow
    return w


def layout_plot(parent: QWidget | None = None) -> tuple[pg.GraphicsLayoutWidget, pg.PlotItem]:
    """A white GraphicsLayoutWidget holding one plot with dark axes (room for a colour bar)."""
    view = pg.GraphicsLayoutWidget(parent)
    view.setBackground("w")
    plot = view.addPlot()
    plot.setMenuEnabled(False)
    for name in ("left", "bottom"):
        plot.getAxis(name).setPen(pg.mkPen(_FG))
        plot.getAxis(name).setTextPen(pg.mkPen(_FG))
    return view, plot


class HistogramPlot(pg.PlotWidget):
    """A histogram of an array's values as a stepped, filled curve."""

    #: The least height it is given stacked over the statistics (PlotAndSide): beside
    #: them it may go down to HISTOGRAM_MIN_HEIGHT.
    STACKED_HEIGHT = 96

    def __init__(self, parent: QWidget | None = None, bins: int = 64) -> None:
        super().__init__(parent=parent, background="w")
        self.bins = bins
        item = self.getPlotItem()
        for name in ("left", "bottom"):
            item.getAxis(name).setPen(pg.mkPen(_FG))
            item.getAxis(name).setTextPen(pg.mkPen(_FG))
        item.setLabel("bottom", "value", color=_FG)
        item.setLabel("left", "count", color=_FG)
        item.setMenuEnabled(False)
        self.curve = pg.PlotCurveItem(fillLevel=0,
                                      brush=(31, 119, 180, 150), pen=pg.mkPen("#1f77b4"))
        self.addItem(self.curve)
        self.setMinimumHeight(HISTOGRAM_MIN_HEIGHT)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        """Keep the bars' room on a short plot: the bottom caption goes below
        HISTOGRAM_CAPTION_HEIGHT."""
        super().resizeEvent(event)
        item = self.getPlotItem()
        if item is not None and event is not None:  # pyqtgraph resizes before the plot exists
            item.showLabel("bottom", self.height() >= HISTOGRAM_CAPTION_HEIGHT)

    def set_array(self, array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Plot the histogram of `array`; returns (counts, edges)."""
        counts, edges = histogram(array, self.bins)
        self.curve.setData(edges, counts.astype(np.float64), stepMode="center")
        self.getPlotItem().enableAutoRange()
        return counts, edges

    def clear_data(self) -> None:
        """Empty the plot."""
        self.curve.clear()


class PlotAndSide(QSplitter):
    """The main plot with the histogram and statistics beside it in a wide, short panel
    (the Inspect dock at the bottom of the window) and below it in a tall one.

    A vertical split in a 250 px dock squashed a 4x8 heatmap into a 15 px strip. Beside the
    plot, the histogram and the statistics are stacked when the panel is tall enough for both
    and side by side when it is not: stacked, they needed ~180 px, more than the Inspect dock
    has on a first run, and the dock scrolled with the plots cut at the bottom.
    """

    #: Width/height ratio above which the side part moves to the right.
    WIDE = 1.6

    def __init__(self, main: QWidget, side: list[QWidget], parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.side = QSplitter(Qt.Orientation.Vertical, self)
        self.side.setChildrenCollapsible(False)
        for w in side:
            self.side.addWidget(w)
        self.addWidget(main)
        self.addWidget(self.side)
        self.setChildrenCollapsible(False)
        self._moved = False  # a handle the user dragged stays where it was put
        self.splitterMoved.connect(self._user_moved)
        self.side.splitterMoved.connect(self._user_moved)
        self._arrange(Qt.Orientation.Horizontal)

    def _stacked_height(self) -> int:
        """The height the side parts need one above the other."""
        parts = [self.side.widget(i) for i in range(self.side.count())]
        shown = [w for w in parts if not w.isHidden()]
        need = sum(max(w.minimumHeight(), w.minimumSizeHint().height(),
                       getattr(w, "STACKED_HEIGHT", 0)) for w in shown)
        return need + self.side.handleWidth() * max(0, len(shown) - 1)

    def _side_orientation(self, orientation: Qt.Orientation, height: int) -> Qt.Orientation:
        # The side splitter runs across the main one when beside it (if there is the height),
        # and side by side below it.
        if orientation == Qt.Orientation.Horizontal and height >= self._stacked_height():
            return Qt.Orientation.Vertical
        return Qt.Orientation.Horizontal

    def _arrange(self, orientation: Qt.Orientation) -> None:
        self.setOrientation(orientation)
        self.side.setOrientation(self._side_orientation(orientation, self.height()))
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 1)
        self._share()
        self.updateGeometry()

    def _share(self) -> None:
        """Split the room: 70/30 with the side stacked; with the side in a row, the text
        keeps the width of its lines and the plot and the histogram share the rest 60/40."""
        horizontal = self.orientation() == Qt.Orientation.Horizontal
        total = self.width() if horizontal else self.height()
        parts = [self.side.widget(i) for i in range(self.side.count())]
        row = self.side.orientation() == Qt.Orientation.Horizontal
        if total <= 0:
            return
        if horizontal and row and parts:
            texts = [w.sizeHint().width() for w in parts[1:]]
            rest = max(0, total - sum(texts) - self.handleWidth() * len(parts))
            main = int(rest * 0.6)
            self.setSizes([main, total - main])
            self.side.setSizes([rest - main, *texts])
        else:
            self.setSizes([int(total * 0.7), total - int(total * 0.7)])
            n = len(parts)
            length = self.side.height() if not row else self.side.width()
            if n and length > 0:
                self.side.setSizes([length // n] * n)

    def _user_moved(self, *_args) -> None:
        self._moved = True

    def refit(self) -> None:
        """Split the room again for new contents (a longer statistics text), unless the user
        has moved a handle."""
        if not self._moved:
            self._share()

    def minimumSizeHint(self):  # noqa: N802 - Qt API
        """Beside the plot, the side parts go side by side when the height is short: the
        tallest part, not their stack, is the least height."""
        hint = super().minimumSizeHint()
        if self.orientation() == Qt.Orientation.Horizontal:
            parts = [self.widget(0)] + [self.side.widget(i) for i in range(self.side.count())]
            hint.setHeight(max(max(w.minimumHeight(), w.minimumSizeHint().height())
                               for w in parts if not w.isHidden()))
        return hint

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        """Re-orient when the aspect crosses WIDE, or the side's stack stops fitting."""
        super().resizeEvent(event)
        size = event.size()
        wanted = Qt.Orientation.Horizontal if size.width() > self.WIDE * size.height() \
            else Qt.Orientation.Vertical
        if wanted != self.orientation():
            self._arrange(wanted)
            return
        across = self._side_orientation(wanted, size.height())
        if across != self.side.orientation():
            self.side.setOrientation(across)
        if not self._moved:
            self._share()


class FitLayout(QVBoxLayout):
    """A vertical layout that lays out to the height it is given.

    A word-wrapped label anywhere in a layout makes it report height-for-width, and Qt then
    takes the layout's *preferred* height for that width as the widget's minimum (in a parent
    layout, and in a resizable QScrollArea): a panel with a wrapped note demanded the full
    preferred height of its plots, and the Inspect dock scrolled at its first-run height.
    Its own children still get their height for the real width (the labels still wrap).
    """

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt API
        return False


class ElidedLabel(QLabel):
    """A one-line label that shortens its text with "…" to the width it gets (the whole
    text in its tooltip), instead of holding its panel as wide as the text: a long node name
    in a title made the Gradients page wider than the dock and the dock scrolled."""

    #: The least width: room for a few characters and the ellipsis.
    MIN_CHARS = 12

    def minimumSizeHint(self):  # noqa: N802 - Qt API
        hint = super().minimumSizeHint()
        hint.setWidth(min(hint.width(), self.fontMetrics().averageCharWidth() * self.MIN_CHARS))
        return hint

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        """Show `text` (plain), shortened when it does not fit."""
        super().setText(text)
        self.setToolTip(text)

    def shown_text(self) -> str:
        """The text as drawn at the current width."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle,
                                             self.contentsRect().width())

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        from PySide6.QtGui import QPainter

        p = QPainter(self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.setFont(self.font())
        p.drawText(self.contentsRect(), int(self.alignment()), self.shown_text())
        p.end()


class Panel(QWidget):
    """Base of every panel: a bold title, a note line for caveats, `clear()`."""

    TITLE = "Panel"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.TITLE)
        self._layout = FitLayout(self)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.setSpacing(4)
        self.title_label = ElidedLabel(self.TITLE, self)
        bold = self.title_label.font()
        bold.setBold(True)
        self.title_label.setFont(bold)
        self.note_label = QLabel("", self)
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("color: #7a4a00;")
        # One line saying what to do (or why there is nothing) instead of bare axes.
        self.empty_label = QLabel("", self)
        self.empty_label.setWordWrap(True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setStyleSheet("color: #555555; font-size: 11pt; padding: 24px;")
        # The title, the caveats and a panel's own controls share one row: in the Inspect
        # dock's first-run height every row of text is a row less of plot.
        self.header = QHBoxLayout()
        self.header.setSpacing(8)
        self.header.addWidget(self.title_label)
        self.header.addWidget(self.note_label, 1)
        self._layout.addLayout(self.header)
        self._layout.addWidget(self.empty_label, 1)
        self.note_label.hide()
        self.empty_label.hide()
        self._hidden_by_empty: list[QWidget] = []

    def title(self) -> str:
        """The title as shown, e.g. "Activations - dense_1"."""
        return self.title_label.text()

    def set_subject(self, subject: str) -> None:
        """Show what the panel is about after its title."""
        text = f"{self.TITLE} - {subject}" if subject else self.TITLE
        self.title_label.setText(text)

    def notes(self) -> list[str]:
        """The caveats currently shown (downsampling, caps, layout guesses)."""
        text = self.note_label.text()
        return [n for n in text.split("\n") if n] if self.note_label.isVisibleTo(self) else []

    def set_notes(self, notes: list[str]) -> None:
        """Show `notes` (or hide the note line when empty)."""
        self.note_label.setText("\n".join(notes))
        # Beside the title a note keeps the width of its longest line (up to NOTE_WIDTH, it
        # wraps beyond), not a few characters a line: the title is the one that shortens.
        fm = self.note_label.fontMetrics()
        longest = max((fm.horizontalAdvance(n) for n in notes), default=0)
        self.note_label.setMinimumWidth(min(longest + 4, NOTE_WIDTH))
        self.note_label.setVisible(bool(notes))

    def set_empty(self, message: str) -> None:
        """Show only `message` (what to do, or why there is nothing) in place of the plots;
        an empty message brings the plots back."""
        if message:
            self.empty_label.setText(message)
            if not self.empty_label.isVisibleTo(self):
                self._hidden_by_empty = [w for w in self._content_widgets()
                                         if w.isVisibleTo(self)]
                for w in self._hidden_by_empty:
                    w.hide()
            self.empty_label.show()
            return
        if self.empty_label.isVisibleTo(self):
            self.empty_label.hide()
            self.empty_label.setText("")
            for w in self._hidden_by_empty:
                w.show()
            self._hidden_by_empty = []

    def empty_text(self) -> str:
        """The empty-state line shown ("" when the panel shows data)."""
        return self.empty_label.text() if self.empty_label.isVisibleTo(self) else ""

    def _content_widgets(self) -> list[QWidget]:
        """The widgets below the title, note and empty lines (rows of controls included)."""
        out: list[QWidget] = []

        def walk(layout) -> None:
            for i in range(layout.count()):
                item = layout.itemAt(i)
                w = item.widget()
                if w is not None:
                    if w not in (self.title_label, self.note_label, self.empty_label):
                        out.append(w)
                elif item.layout() is not None:
                    walk(item.layout())

        walk(self._layout)
        return out

    def set_nested(self) -> None:
        """No margins: the panel sits inside another panel (the Gradients panel's parts)."""
        self._layout.setContentsMargins(0, 0, 0, 0)

    def clear(self) -> None:
        """Forget the data and show an empty panel."""
        self.set_subject("")
        self.set_notes([])


def block_note(shape: tuple[int, ...], image: np.ndarray, blocks: tuple[int, int]) -> str:
    """What a block-averaged heatmap shows, e.g. "16x50257 shown as 16x508 (means of 1x99
    blocks: rows x columns)"."""
    (rows, cols), (ir, ic), (rb, cb) = shape[:2], image.shape[:2], blocks
    return f"{rows}x{cols} shown as {ir}x{ic} (means of {rb}x{cb} blocks)"


def block_rect(image: np.ndarray, blocks: tuple[int, int]) -> tuple[float, float, float, float]:
    """The (x, y, width, height) that puts block-mean cell (i, j) over matrix rows
    i*rb .. (i+1)*rb and columns j*cb .. (j+1)*cb, in index coordinates (cell centres on
    integers). A partial last block is drawn as wide as the others, past the last index."""
    rb, cb = blocks
    return -0.5, -0.5, float(image.shape[1] * cb), float(image.shape[0] * rb)


def stats_text(summary: Summary, extra: list[str] | None = None) -> str:
    """Plain multi-line text of a summary plus extra lines."""
    return "\n".join(summary.lines() + (extra or []))


def grid_columns(count: int, aspect: float = 1.0) -> int:
    """Columns for a near-square grid of `count` tiles of height/width ratio `aspect`."""
    return max(1, int(math.ceil(math.sqrt(count * aspect))))


def tile_maps(maps: np.ndarray, columns: int, gap: int = 1) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Tile a (N, H, W) stack into one float32 image with NaN gaps (drawn transparent).

    Returns the image and each tile's (row, column) origin in it. One image for all maps
    keeps drawing to one ImageItem and gives every map the same colour scale.
    """
    n, h, w = maps.shape
    rows = max(1, int(math.ceil(n / columns)))
    image = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan, np.float32)
    origins = []
    for k in range(n):
        r0, c0 = (k // columns) * (h + gap), (k % columns) * (w + gap)
        image[r0:r0 + h, c0:c0 + w] = maps[k]
        origins.append((r0, c0))
    return image, origins


#: (background, foreground) of every plot, per theme.
PLOT_COLORS = {"light": ("#ffffff", _FG), "dark": ("#1e1e1e", "#d0d0d0")}


_THEME = {"name": "light"}


def text_color() -> str:
    """The current plot theme's text colour, for text items drawn on a plot's background
    (bar values, layer names): dark grey on the light theme, light grey on the dark one."""
    return PLOT_COLORS.get(_THEME["name"], PLOT_COLORS["light"])[1]


def apply_plot_theme(root: QWidget, theme: str) -> int:
    """Give every pyqtgraph view under `root` the theme's background, axes, axis labels and
    plot texts; returns how many views were restyled."""
    old_fg = text_color()
    _THEME["name"] = theme if theme in PLOT_COLORS else "light"
    bg, fg = PLOT_COLORS.get(theme, PLOT_COLORS["light"])
    views = root.findChildren(pg.GraphicsView)
    for view in views:
        view.setBackground(bg)
        scene = view.scene()
        if scene is None:
            continue
        for item in scene.items():
            if isinstance(item, pg.AxisItem):
                item.setPen(pg.mkPen(fg))
                item.setTextPen(pg.mkPen(fg))
                item.label.setDefaultTextColor(pg.mkColor(fg))
            elif isinstance(item, pg.TextItem) and item.color.name() in (
                    pg.mkColor(old_fg).name(), pg.mkColor(_FG).name()):
                item.setColor(fg)  # a text on the plot's background, not on a coloured cell
    return len(views)
