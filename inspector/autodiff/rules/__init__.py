"""Vector-Jacobian products for ONNX operators, one module per op family.

`backward_node(ctx, grads_at_outputs)` returns one gradient per input; `node_vjp` and
`backprop_graph` (in `graph`) differentiate a node or a whole (sub)graph. Importing this
package registers every rule, control flow (If, Loop, Scan) included.
"""

from __future__ import annotations

from inspector.autodiff.rules import (  # noqa: F401 - imported for their rule registrations
    control,
    conv,
    dense,
    math,
    rnn,
    scan,
    shape,
)
from inspector.autodiff.rules.graph import (
    GraphEnv,
    accumulate,
    backprop_graph,
    env_of,
    node_inputs,
    node_vjp,
)
from inspector.autodiff.rules.registry import (
    RULES,
    SUBGRAPH_RULES,
    Grad,
    NotDifferentiable,
    OpCtx,
    backward_node,
    unbroadcast,
)

__all__ = [
    "RULES", "SUBGRAPH_RULES", "Grad", "GraphEnv", "NotDifferentiable", "OpCtx", "accumulate",
    "backprop_graph", "backward_node", "env_of", "node_inputs", "node_vjp", "unbroadcast",
]
