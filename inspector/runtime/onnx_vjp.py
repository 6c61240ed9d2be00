"""Vector-Jacobian products for ONNX operators: the public face of the rule modules.

`backward_node(ctx, grads_at_outputs)` returns one gradient per input; `RULES` lists every
covered op type. Importing this module registers all rules.
"""

from __future__ import annotations

from inspector.runtime import (  # noqa: F401 - imported for their @vjp_rule registrations
    onnx_vjp_conv,
    onnx_vjp_dense,
    onnx_vjp_math,
    onnx_vjp_rnn,
    onnx_vjp_shape,
)
from inspector.runtime.onnx_vjp_core import (
    RULES,
    Grad,
    NotDifferentiable,
    OpCtx,
    backward_node,
    unbroadcast,
)

__all__ = ["RULES", "Grad", "NotDifferentiable", "OpCtx", "backward_node", "unbroadcast"]
