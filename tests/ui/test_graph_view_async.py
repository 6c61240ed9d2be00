"""Big graphs are laid out off the GUI thread: relayouts, the newest request wins, stale
results are dropped, and a ModelTab loads and prepares in its worker. Real ONNX files, the
onnx protobuf as the oracle for what the view must show."""

from __future__ import annotations

import threading
from pathlib import Path

import onnx
import pytest

from inspector.loaders.registry import load_model
from inspector.ui.graph import relayout, scene
from inspector.ui.graph.view import GraphView
from inspector.ui.model_tab import ModelTab
from tests.ui.view_models import conv_net, transformer

LAYERS = 200  # ~12 nodes a layer: well past relayout.SYNC_LIMIT


@pytest.fixture(scope="module")
def big_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = transformer(tmp_path_factory.mktemp("big") / "big.onnx", layers=LAYERS, d=4)
    assert len(onnx.load(str(path)).graph.node) > relayout.SYNC_LIMIT
    return path


@pytest.fixture(scope="module")
def big(big_path: Path):
    return load_model(big_path)


@pytest.fixture
def view(qtbot) -> GraphView:
    v = GraphView()
    v.resize(900, 700)
    qtbot.addWidget(v)
    v.show()
    return v


def _node_count(v: GraphView) -> int:
    return sum(1 for it in v.scene_data.items if it.kind == "node")


def test_big_relayout_runs_in_background_and_the_newest_request_wins(view, qtbot, big) -> None:
    view.set_model(big)  # synchronous at any size
    first = view.scene_data
    assert first is not None and _node_count(view) < len(big.graph.nodes)  # groups collapsed
    busy, progress, finished = [], [], []
    view.busy_changed.connect(busy.append)
    view.progressed.connect(lambda f, m: progress.append(f))
    view.layout_finished.connect(lambda: finished.append(view.scene_data))
    view.collapse_all()
    assert view.busy and view.scene_data is first  # returned at once; old scene still shown
    view.expand_all()  # supersedes the collapse before it finishes
    qtbot.waitUntil(lambda: not view.busy, timeout=60_000)
    qtbot.wait(200)  # a late result of the cancelled collapse would land here
    assert len(finished) == 1
    assert _node_count(view) == len(big.graph.nodes)
    assert busy[0] is True and busy[-1] is False
    assert progress and all(0.0 <= f <= 1.0 for f in progress)


def test_small_graph_relayout_is_synchronous(view, tmp_path) -> None:
    proto_path = transformer(tmp_path / "small.onnx", layers=2)
    view.set_model(load_model(proto_path))
    before = view.scene_data
    view.expand_all()
    assert not view.busy and view.scene_data is not before
    assert _node_count(view) == len(onnx.load(str(proto_path)).graph.node)


def test_select_node_in_a_collapsed_group_of_a_big_graph(view, qtbot, big) -> None:
    view.set_model(big)
    name = next(n.name for n in big.graph.nodes if n.op_type == "Softmax" and n.group)
    assert view.scene_data.items[view.scene_data.index_of_node[name]].kind == "group"
    with qtbot.waitSignal(view.node_selected, timeout=60_000,
                          check_params_cb=lambda n: n is not None and n.name == name):
        assert view.select_node(name)
    assert view.selected_node().name == name


def test_unchanged_options_do_not_relayout(view, big) -> None:
    view.set_model(big)
    data = view.scene_data
    view.set_options(**{k: getattr(view.options(), k) for k in ("show_weights", "direction")})
    assert view.scene_data is data and not view.busy


def test_a_stale_layout_never_replaces_a_newer_model(view, qtbot, big, tmp_path) -> None:
    view.set_model(big)
    view.expand_all()  # background
    assert view.busy
    small = load_model(conv_net(tmp_path / "conv.onnx"))
    view.set_model(small)
    qtbot.wait(50)
    qtbot.waitUntil(lambda: not view.busy, timeout=60_000)
    qtbot.wait(300)
    assert view.scene_data.graph is small.graph
    assert _node_count(view) == len(onnx.load(str(tmp_path / "conv.onnx")).graph.node)


def test_set_model_async_shows_the_big_graph_later(view, qtbot, big) -> None:
    with qtbot.waitSignal(view.layout_finished, timeout=60_000):
        view.set_model_async(big)
        assert view.busy and view.scene_data is None
    assert view.scene_data.graph is big.graph
    assert view.breadcrumbs() == [big.graph.name]


def test_model_tab_loads_and_lays_out_in_its_worker(qtbot, big_path, monkeypatch) -> None:
    threads: list[threading.Thread] = []
    real = scene.prepare

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(scene, "prepare", spy)
    tab = ModelTab(str(big_path))
    qtbot.addWidget(tab)
    progress: list[float] = []
    tab.progressed.connect(lambda f, m: progress.append(f))
    with qtbot.waitSignal(tab.loaded, timeout=60_000):
        tab.start_loading()
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert tab.view.scene_data is not None and tab.view.scene_data.graph is tab.model.graph
    assert len(tab.model.graph.nodes) == len(onnx.load(str(big_path)).graph.node)
    assert not tab.busy
    assert progress == sorted(progress)  # one bar from 0 to 1, not load then layout again
