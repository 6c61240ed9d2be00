"""Scene preparation for a GraphView: small graphs at once, big ones in a worker thread.

`prepare()` on a 100k-node graph takes seconds; run on the GUI thread it froze the window on
every expand, collapse or option change. A `SceneJobs` owns one `JobSlot`, so a newer request
cancels an older one and a stale result never reaches the view.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from inspector.ir.model import Graph, Model
from inspector.progress import NO_TASK, Task
from inspector.ui.graph import scene
from inspector.ui.graph.scene import SceneData, SceneOptions
from inspector.ui.jobs import JobSlot

#: Graphs with fewer nodes than this are prepared synchronously: a few ms, and tests and small
#: models see the new scene as soon as the call returns.
SYNC_LIMIT = 2000


@dataclass(frozen=True)
class Request:
    """What to do with a scene once it is ready: the graph it is for (a result for a graph no
    longer shown is dropped), a node to keep selected, and how to place the view."""

    graph: Graph
    keep: str | None = None
    select: bool = False
    center: tuple[float, float] | None = None
    fit: bool = False


class SceneJobs(QObject):
    """Prepares scenes for one view; `ready(SceneData, Request)` hands over each result."""

    ready = Signal(object, object)
    progressed = Signal(float, str)
    busy_changed = Signal(bool)
    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None, sync_limit: int = SYNC_LIMIT) -> None:
        super().__init__(parent)
        self.sync_limit = sync_limit
        self._slot = JobSlot(self)
        self._request: Request | None = None
        self._slot.progressed.connect(self.progressed)
        self._slot.busy_changed.connect(self.busy_changed)
        self._slot.failed.connect(self.failed)
        self._slot.finished.connect(self._finished)

    @property
    def busy(self) -> bool:
        """True while a scene is being prepared in the background."""
        return self._slot.busy

    def request(self, model: Model | None, graph: Graph,
                expanded: frozenset[tuple[str, ...]] | None, options: SceneOptions,
                req: Request, background: bool | None = None) -> SceneData | None:
        """Prepare a scene: returned at once for small graphs (or `background=False`), else
        started in a worker (cancelling any older one) and later emitted through `ready`."""
        if background is None:
            background = len(graph.nodes) >= self.sync_limit
        if not background:
            self.cancel()
            return scene.prepare(model, graph, expanded, options, NO_TASK)
        self._request = req

        def work(task: Task) -> SceneData:
            return scene.prepare(model, graph, expanded, options, task)

        self._slot.start(work, "Laying out")
        return None

    def cancel(self) -> None:
        """Drop the scene being prepared, if any."""
        self._request = None
        self._slot.cancel()

    def _finished(self, data: SceneData) -> None:
        req, self._request = self._request, None
        if req is not None:
            self.ready.emit(data, req)
