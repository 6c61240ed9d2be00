"""Importing this module registers every rule family with the registry in rules.py."""

from inspector.lowering import (  # noqa: F401 - imported for their @rule registrations
    layers_attention,
    layers_conv,
    layers_core,
    layers_embed,
    layers_norm,
    layers_pool,
    layers_rnn,
    layers_spatial,
    ops,
)
