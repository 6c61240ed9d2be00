"""Legacy `.h5` Keras weights: `model_weights/<layer>/` listed by `weight_names`, lazily.

A nested model's weights all sit in its top-level group with names that start with the inner
layer's name (Keras 2, and Keras 3 when built eagerly) or with the enclosing models' names
first (Keras 3, a nested Sequential built lazily). Which inner layer owns which weight is
decided from the config's layer tree (see `_owner`).
"""

from __future__ import annotations

from typing import Any

import h5py

from inspector.ir import Tensor, Weight
from inspector.loaders.keras_weights import (
    Opener,
    config_layers,
    decoded_strings,
    dedupe_weight_names,
    lazy_h5_reader,
)


def _nested_chains(config: dict[str, Any] | None) -> dict[str, dict[str, tuple[str, ...]]]:
    """{top-level nested model: {inner leaf layer: its chain of models from that one down}}."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}

    def walk(layers: list[Any], chain: tuple[str, ...], table: dict[str, tuple[str, ...]]) -> None:
        for ly in layers:
            if not isinstance(ly, dict):
                continue
            name = str(ly.get("name") or (ly.get("config") or {}).get("name") or "")
            inner = (ly.get("config") or {}).get("layers")
            if isinstance(inner, list):
                walk(inner, (*chain, name), table)
            else:
                table.setdefault(name, chain)

    for ly in config_layers(config) if config else []:
        inner = (ly.get("config") or {}).get("layers") if isinstance(ly, dict) else None
        if isinstance(inner, list):
            name = str(ly.get("name") or (ly.get("config") or {}).get("name") or "")
            walk(inner, (name,), out.setdefault(name, {}))
    return out


def _owner(segs: list[str], chains: dict[str, tuple[str, ...]]) -> tuple[str, list[str]] | None:
    """The inner layer a nested model's weight name belongs to, and the segments after it.

    Names are "<layer>/<sub-layers>/<var>", or with the enclosing models first when Keras 3
    built a nested Sequential lazily ("seq/dense/kernel"). Reading the prefix as models is
    allowed only when it is the layer's own chain of enclosing models, and the longest such
    reading wins: "twin/dense/kernel" is `dense` in model `twin`, not a sub-layer `dense`
    of a layer `twin`, while "bidir/forward_lstm/..." stays Bidirectional `bidir`'s.
    """
    best = None
    for i, seg in enumerate(segs):
        chain = chains.get(seg)
        if chain is not None and (i == 0 or tuple(segs[:i]) == chain[len(chain) - i :]):
            best = (seg, segs[i + 1 :])
    return best


class LegacyWeights:
    """Weights of a legacy `.h5` model: `model_weights/<layer>/` listed by `weight_names`.

    A nested model's group holds every inner layer's weights (at any depth), in its own
    weight order; each is given to the inner layer its name starts with (`_owner`), using
    the config's layer tree so that same-named layers of different nested models, or an inner
    layer named like another layer's sub-layer, never mix.
    """

    def __init__(self, opener: Opener, where: str, config: dict[str, Any] | None = None) -> None:
        self._opener = opener
        self._where = where
        self._chains = _nested_chains(config)
        self._lists: dict[str, list[tuple[str, tuple[int, ...], str]]] = {}
        with opener() as f:
            root = f["model_weights"] if "model_weights" in f else f
            for key in root:
                grp = root[key]
                if not isinstance(grp, h5py.Group):
                    continue
                items = []
                for wn in decoded_strings(grp.attrs.get("weight_names", [])):
                    ds = grp.get(wn)
                    if isinstance(ds, h5py.Dataset):
                        items.append((wn, tuple(int(d) for d in ds.shape), str(ds.dtype)))
                self._lists[key] = items
            self._prefix = "model_weights/" if "model_weights" in f else ""

    def root(self) -> str:
        """The scope of the top-level model."""
        return ""

    def child(self, scope: str, layer: str) -> str:
        """Inner layers of a nested model all live in its top-level group."""
        return scope or layer

    def _segments(self, scope: str, layer: str, wn: str) -> list[str] | None:
        """The segments of `wn` after `layer` (ending with the variable), or None if `wn`
        is not `layer`'s."""
        segs = [s.split(":")[0] for s in wn.split("/")]
        chains = self._chains.get(scope)
        if scope and chains:
            owner = _owner(segs[:-1], chains)
            if owner is None or owner[0] != layer:
                return None
            return [*owner[1], segs[-1]]
        if scope and layer not in segs[:-1]:  # no config tree: the older, looser match
            return None
        if layer in segs[:-1]:
            segs = segs[segs.index(layer) + 1 :]
        return segs

    def weights(self, scope: str, layer: str, cls: str, cfg: dict[str, Any]) -> list[Weight]:
        """The layer's weights in `weight_names` order."""
        group = scope or layer
        entries, meta = [], {}
        for wn, shape, dtype in self._lists.get(group, []):
            segs = self._segments(scope, layer, wn)
            if segs is None:
                continue
            meta[wn] = (shape, dtype)
            segs = [s for s in segs[:-1] if not s.endswith("cell")] + segs[-1:]
            entries.append((segs[-1], "/".join(segs[:-1]), wn))
        out = []
        for name, wn in dedupe_weight_names(entries):
            shape, dtype = meta[wn]
            path = f"{self._prefix}{group}/{wn}"
            tensor = Tensor(
                name=f"{layer}/{name}", shape=shape, dtype=dtype,
                loader=lazy_h5_reader(self._opener, path, self._where), kind="keras", location=path,
            )
            out.append(Weight(name=name, tensor=tensor))
        return out
