"""Running models: onnxruntime sessions exposing every intermediate value, input makers,
Keras -> ONNX conversion (the `convert` extra) and gradients. No Qt here."""
