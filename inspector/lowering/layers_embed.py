"""Rules: layers_embed (see rules.py for the contract)."""

from __future__ import annotations

from onnx import TensorProto

from inspector.lowering.rules import LayerCall, rule


@rule("Embedding")
def embedding(c: LayerCall) -> list[str]:
    # Keras casts any input to int before the lookup (float ids truncate, as Cast does);
    # mask_zero only adds a mask for later layers, the looked-up values are the same.
    ids = c.b.op("Cast", [c.inputs[0]], c.name, to=TensorProto.INT64)
    return [c.b.op("Gather", [c.weight("embeddings"), ids], c.name, axis=0)]
