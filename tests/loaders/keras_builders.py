"""Small real Keras models for the Keras loader tests (built with Keras, saved by Keras)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _keras() -> Any:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def nested() -> Any:
    """Functional in functional plus Sequential in functional."""
    keras = _keras()
    layers = keras.layers
    fi = keras.Input((6,), name="inner_in")
    fx = layers.Dense(6, activation="relu", name="inner_dense")(fi)
    fx = layers.BatchNormalization(name="inner_bn")(fx)
    inner = keras.Model(fi, fx, name="inner_func")
    seq = keras.Sequential(
        [keras.Input((6,)), layers.Dense(4, activation="tanh", name="seq_d1"), layers.Dense(3, name="seq_d2")],
        name="inner_seq",
    )
    x_in = keras.Input((6,), name="x")
    h = layers.Dense(6, name="pre")(x_in)
    h = inner(h)
    out = seq(h)
    return keras.Model(x_in, out, name="outer")


def shared_multi() -> Any:
    """A shared layer called on two inputs; two outputs."""
    keras = _keras()
    layers = keras.layers
    a = keras.Input((5,), name="a")
    b = keras.Input((5,), name="b")
    shared = layers.Dense(5, activation="sigmoid", name="shared")
    sa, sb = shared(a), shared(b)
    add = layers.Add(name="add")([sa, sb])
    cat = layers.Concatenate(name="cat")([sa, sb, add])
    o1 = layers.Dense(2, activation="softmax", name="out1")(cat)
    o2 = layers.Subtract(name="out2")([sa, shared(add)])
    return keras.Model([a, b], [o1, o2], name="shared_multi")


def rnn() -> Any:
    """Embedding, LSTM, GRU with states, Bidirectional, TimeDistributed."""
    keras = _keras()
    layers = keras.layers
    t = keras.Input((7,), dtype="int32", name="tokens")
    e = layers.Embedding(30, 6, name="emb")(t)
    s = layers.LSTM(5, return_sequences=True, name="lstm")(e)
    g, state = layers.GRU(4, return_sequences=True, return_state=True, name="gru")(s)
    bi = layers.Bidirectional(layers.LSTM(3, return_sequences=True), name="bidir")(g)
    bs = layers.Bidirectional(layers.GRU(2), merge_mode="sum", name="bisum")(bi)
    td = layers.TimeDistributed(layers.Dense(2), name="td")(bi)
    att = layers.MultiHeadAttention(2, 3, name="mha")(td, td)
    r = layers.SimpleRNN(3, name="srnn")(att)
    return keras.Model(t, [r, state, bs], name="rnn")


def convs() -> Any:
    """The image-layer shape rules: convs, transposes, pooling, padding, cropping, reshapes."""
    keras = _keras()
    L = keras.layers
    x_in = keras.Input((17, 15, 3), name="img")
    x = L.Rescaling(1 / 255.0, name="rescale")(x_in)
    x = L.ZeroPadding2D(((1, 2), (0, 1)), name="zpad")(x)
    x = L.Conv2D(4, 3, strides=2, padding="valid", dilation_rate=1, name="conv")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw")(x)
    x = L.SeparableConv2D(5, 2, padding="valid", use_bias=False, name="sep")(x)
    x = L.Conv2DTranspose(3, 3, strides=2, padding="valid", name="deconv")(x)
    x = L.Cropping2D(((1, 0), (2, 1)), name="crop")(x)
    x = L.UpSampling2D((2, 1), name="up")(x)
    x = L.MaxPooling2D(3, strides=2, padding="same", name="maxpool")(x)
    x = L.AveragePooling2D(2, name="avgpool")(x)
    x = L.LayerNormalization(name="ln")(x)
    x = L.Permute((2, 1, 3), name="perm")(x)
    x = L.Reshape((-1, 3), name="reshape")(x)
    x = L.Conv1D(4, 3, padding="causal", name="conv1d")(x)
    x = L.Conv1DTranspose(2, 2, strides=2, padding="same", name="deconv1d")(x)
    x = L.ZeroPadding1D(2, name="zpad1")(x)
    x = L.Cropping1D((1, 0), name="crop1")(x)
    x = L.UpSampling1D(2, name="up1")(x)
    x = L.MaxPooling1D(2, name="pool1")(x)
    g = L.GlobalAveragePooling1D(name="gap")(x)
    f = L.Flatten(name="flat")(x)
    x = L.Concatenate(name="cat")([g, f])
    x = L.Dropout(0.5, name="drop")(x)
    x = L.Dense(6, name="dense")(x)
    x = L.LeakyReLU(name="leaky")(x)
    x = L.RepeatVector(2, name="repeat")(x)
    x = L.Activation("softmax", name="act")(x)
    return keras.Model(x_in, x, name="convs")


def sequential(explicit_input: bool) -> Any:
    """A Sequential MLP, with or without a leading Input."""
    keras = _keras()
    L = keras.layers
    head = [keras.Input((10,), name="features")] if explicit_input else []
    body = [L.Dense(8, activation="relu", name="d1"), L.Dropout(0.2, name="drop"), L.Dense(3, name="d2")]
    model = keras.Sequential([*head, *body], name="mlp")
    if not explicit_input:
        model.build((None, 10))
    return model


def lambda_model(marker: Path) -> Any:
    """A Lambda whose function would create `marker` if anything ever ran it."""
    keras = _keras()
    marker_path = str(marker)

    def touch(x: Any) -> Any:
        # Keras runs this once symbolically while building; the test removes the marker after.
        Path(marker_path).write_text("ran")
        return x * 2.0

    x_in = keras.Input((4,), name="x")
    y = keras.layers.Lambda(touch, name="touch")(x_in)
    y = keras.layers.Dense(2, name="d")(y)
    return keras.Model(x_in, y, name="lam")


def applications() -> dict[str, Any]:
    """keras.applications architectures with random weights, small inputs where allowed."""
    keras = _keras()
    apps = keras.applications
    return {
        "mobilenetv2": apps.MobileNetV2(weights=None, input_shape=(96, 96, 3), classes=10),
        "resnet50": apps.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10),
        "densenet121": apps.DenseNet121(weights=None, input_shape=(64, 64, 3), classes=10),
        "nasnetmobile": apps.NASNetMobile(weights=None, input_shape=(64, 64, 3), classes=10),
    }


def volumes() -> Any:
    """The 3D shape rules: Conv3D, 3D pooling, padding, cropping, up-sampling, transposes."""
    keras = _keras()
    L = keras.layers
    x_in = keras.Input((9, 11, 10, 2), name="vol")
    x = L.ZeroPadding3D(((1, 0), (0, 2), 1), name="zpad3")(x_in)
    x = L.Conv3D(3, (3, 2, 3), strides=(1, 2, 2), padding="valid", name="conv3")(x)
    x = L.MaxPooling3D(2, strides=(2, 1, 1), padding="same", name="maxpool3")(x)
    x = L.UpSampling3D((1, 2, 3), name="up3")(x)
    x = L.Cropping3D(((1, 1), (0, 2), (3, 0)), name="crop3")(x)
    x = L.Conv3DTranspose(2, 3, strides=2, padding="same", name="deconv3")(x)
    x = L.AveragePooling3D((2, 3, 2), name="avgpool3")(x)
    x = L.Conv3D(4, 2, dilation_rate=2, padding="same", name="dil3")(x)
    x = L.GlobalAveragePooling3D(name="gap3")(x)
    return keras.Model(x_in, x, name="volumes")


def channels_first() -> Any:
    """The image shape rules with data_format="channels_first" (NCHW), 1D to 3D."""
    keras = _keras()
    L = keras.layers
    cf = "channels_first"
    x_in = keras.Input((3, 17, 14), name="nchw")
    x = L.ZeroPadding2D(((1, 2), (0, 1)), data_format=cf, name="zpad")(x_in)
    x = L.Conv2D(4, 3, strides=2, data_format=cf, name="conv")(x)
    x = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", data_format=cf, name="dw")(x)
    x = L.SeparableConv2D(5, 2, data_format=cf, name="sep")(x)
    x = L.Conv2DTranspose(3, 3, strides=2, data_format=cf, name="deconv")(x)
    x = L.Cropping2D(((1, 0), (2, 1)), data_format=cf, name="crop")(x)
    x = L.UpSampling2D((2, 1), data_format=cf, name="up")(x)
    x = L.MaxPooling2D(3, strides=2, padding="same", data_format=cf, name="maxpool")(x)
    x = L.AveragePooling2D(2, data_format=cf, name="avgpool")(x)
    g = L.GlobalMaxPooling2D(data_format=cf, keepdims=True, name="gmp")(x)
    v_in = keras.Input((2, 6, 7, 5), name="ncdhw")
    v = L.Conv3D(3, 2, data_format=cf, name="conv3")(v_in)
    v = L.MaxPooling3D(2, padding="same", data_format=cf, name="pool3")(v)
    v = L.UpSampling3D(2, data_format=cf, name="up3")(v)
    v = L.GlobalAveragePooling3D(data_format=cf, name="gap3")(v)
    s_in = keras.Input((4, 12), name="ncw")
    s = L.Conv1D(2, 3, strides=2, data_format=cf, name="conv1")(s_in)
    s = L.MaxPooling1D(2, data_format=cf, name="pool1")(s)
    s = L.GlobalAveragePooling1D(data_format=cf, name="gap1")(s)
    out = L.Concatenate(name="cat")([L.Flatten(name="flat")(g), v, s])
    return keras.Model([x_in, v_in, s_in], out, name="channels_first")
