"""The graph a network induces on one input (Gebhart, Schrater & Hylton 2019).

Vertices are the neurons of every layer — a conv layer unrolled into one vertex per output
position per filter — and an edge joins a neuron u to each neuron v of the next layer that
reads it, with weight φ(u, v) = |w_uv · h_u|, h_u the activation of u on the input. Stored
sparse (edge lists), never as a dense adjacency matrix.

Gebhart's own code builds a thinner graph: it leaves out the input layer (no input vertices,
no edges from the input) and keeps, in each layer, only the edges above the 90th percentile
of that layer's weights φ. ``induced_graph(model, x, include_input=False, percentile=90)``
builds that graph; the defaults build the full one.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

_probes: weakref.WeakKeyDictionary = (
    weakref.WeakKeyDictionary()
)  # model -> model of all layer outputs

SUPPORTED = (
    "InputLayer",
    "Conv2D",
    "Dense",
    "Flatten",
    "MaxPooling2D",
    "AveragePooling2D",
    "Dropout",
)


@dataclass(frozen=True, repr=False)
class InducedGraph:
    """Edge lists of an induced graph.

    ``u``, ``v``: vertex ids; ``signed``: the contribution w_uv·h_u of u to v's pre-activation
    (so Σ over v's in-edges, plus v's bias, is v's pre-activation); ``phi``: |signed|.
    ``layers`` maps each layer name to (first vertex id, activation shape) in order;
    ``activations`` holds the activations h per layer; ``percentile`` the per-layer edge cut
    the graph was built with (None: every edge kept).
    """

    u: np.ndarray
    v: np.ndarray
    signed: np.ndarray
    layers: dict
    activations: dict = field(default_factory=dict)
    percentile: float | None = None

    @property
    def phi(self) -> np.ndarray:
        return np.abs(self.signed)

    @property
    def n_vertices(self) -> int:
        first, shape = list(self.layers.values())[-1]
        return int(first + np.prod(shape))

    def layer_of(self, vertex) -> np.ndarray:
        """Layer index of each vertex id."""
        starts = np.array([first for first, _ in self.layers.values()])
        return np.searchsorted(starts, np.asarray(vertex), side="right") - 1

    def __repr__(self):
        parts = ", ".join(f"{k} {tuple(s)}" for k, (_, s) in self.layers.items())
        cut = (
            ""
            if self.percentile is None
            else f" above the {self.percentile:g}th percentile per layer"
        )
        return f"InducedGraph({self.n_vertices:,} vertices, {len(self.u):,} edges{cut}; {parts})"


def _same_pad(n, k, s):
    total = max((int(np.ceil(n / s)) - 1) * s + k - n, 0)
    return total // 2


def _window_edges(in_shape, out_shape, k, s, padding):
    """For each output position (i, j) and kernel offset (di, dj): the input position, or -1."""
    (h, w), (oh, ow) = in_shape, out_shape
    kh, kw = k
    sh, sw = s
    ph = _same_pad(h, kh, sh) if padding == "same" else 0
    pw = _same_pad(w, kw, sw) if padding == "same" else 0
    i = np.arange(oh)[:, None, None, None] * sh + np.arange(kh)[None, None, :, None] - ph
    j = np.arange(ow)[None, :, None, None] * sw + np.arange(kw)[None, None, None, :] - pw
    i, j = np.broadcast_arrays(i, j)  # (oh, ow, kh, kw)
    valid = (i >= 0) & (i < h) & (j >= 0) & (j < w)
    return i, j, valid


def induced_graph(
    model, x, *, include_input: bool = True, percentile: float | None = None
) -> InducedGraph:
    """The induced graph of a Keras ``Sequential`` model on one input ``x`` (without batch axis).

    ``include_input=False`` leaves out the input layer: no input vertices and no edges from
    the input, so the first layer's vertices are reached only from the layer after them.
    ``percentile`` (in [0, 100)) keeps, in each layer separately, only the edges whose weight
    φ lies strictly above that percentile of the layer's φ (Gebhart's code: 90); ``None``
    keeps every edge. Vertex ids and ``n_vertices`` do not depend on the cut.

    Handles Dense, Conv2D (any stride, 'same' or 'valid' padding, no dilation or groups),
    MaxPooling2D (an edge from the selected input, weight 1), AveragePooling2D (weights
    1/window), Flatten (vertices relabelled, no edges) and Dropout (inference: identity).
    Anything else raises ``ValueError`` naming the layer.
    """
    import keras

    layers = [lay for lay in model.layers]
    for lay in layers:
        kind = type(lay).__name__
        if kind not in SUPPORTED:
            raise ValueError(
                f"layer {lay.name!r} ({kind}) is not supported by induced_graph: "
                f"supported are {SUPPORTED}."
            )
        if kind == "Conv2D" and (tuple(lay.dilation_rate) != (1, 1) or lay.groups != 1):
            raise ValueError(
                f"layer {lay.name!r}: dilated or grouped convolutions are not supported."
            )
        if kind == "Conv2D" and lay.data_format != "channels_last":
            raise ValueError(f"layer {lay.name!r}: only channels_last data is supported.")
    if percentile is not None and (
        isinstance(percentile, bool)
        or not isinstance(percentile, (int, float, np.number))
        or not 0 <= float(percentile) < 100
    ):
        raise ValueError(
            f"percentile must be a number in [0, 100) or None (every edge), got {percentile!r}."
        )
    x = np.asarray(x, dtype=np.float32)
    expected = tuple(model.inputs[0].shape[1:])
    if x.shape != expected:
        raise ValueError(
            f"x has shape {x.shape}, the model expects one input of shape {expected} "
            "(no batch axis)."
        )
    probe = _probes.get(model)
    if probe is None:  # one probe per model: no rebuilding, no retracing per input
        probe = _probes[model] = keras.Model(model.inputs[0], [lay.output for lay in layers])
    outs = probe(x[None], training=False)
    outs = [
        keras.ops.convert_to_numpy(o)[0]
        for o in (outs if isinstance(outs, (list, tuple)) else [outs])
    ]

    table, acts = {}, {}
    us, vs, ss = [], [], []
    next_id = 0
    prev_ids, prev_h = None, x
    if include_input:
        n = int(np.prod(x.shape))
        table["input"] = (0, x.shape)
        acts["input"] = x
        prev_ids = np.arange(n).reshape(x.shape)
        next_id = n
    for lay, h_out in zip(layers, outs):
        kind = type(lay).__name__
        if kind == "Dropout":
            continue
        if kind == "Flatten":
            if prev_ids is not None:
                prev_ids = prev_ids.reshape(-1)
            prev_h = prev_h.reshape(-1)
            continue
        ids = next_id + np.arange(h_out.size).reshape(h_out.shape)
        table[lay.name] = (next_id, h_out.shape)
        acts[lay.name] = h_out
        next_id += h_out.size
        if prev_ids is not None:
            if kind == "Dense":
                W = np.asarray(lay.get_weights()[0])  # (n_in, n_out)
                src = np.repeat(prev_ids.reshape(-1), W.shape[1])
                dst = np.tile(ids.reshape(-1), W.shape[0])
                contrib = (prev_h.reshape(-1)[:, None] * W).reshape(-1)
            else:
                k = lay.kernel_size if kind == "Conv2D" else lay.pool_size
                s = lay.strides
                i, j, valid = _window_edges(prev_h.shape[:2], h_out.shape[:2], k, s, lay.padding)
                oi, oj, di, dj = np.nonzero(valid)
                ii, jj = i[valid], j[valid]
                if kind == "Conv2D":
                    K = np.asarray(lay.get_weights()[0])  # (kh, kw, cin, cout)
                    cin, cout = K.shape[2], K.shape[3]
                    c = np.arange(cin)[None, :, None]
                    f = np.arange(cout)[None, None, :]
                    shape = (len(oi), cin, cout)
                    src = np.broadcast_to(prev_ids[ii[:, None, None], jj[:, None, None], c], shape)
                    dst = np.broadcast_to(ids[oi[:, None, None], oj[:, None, None], f], shape)
                    contrib = (
                        prev_h[ii[:, None, None], jj[:, None, None], c]
                        * K[di[:, None, None], dj[:, None, None], c, f]
                    )
                elif kind == "MaxPooling2D":
                    cch = prev_h.shape[2]
                    vals = np.full(
                        (h_out.shape[0], h_out.shape[1], k[0], k[1], cch), -np.inf, dtype=np.float64
                    )
                    vals[oi, oj, di, dj] = prev_h[ii, jj]
                    flat = vals.reshape(h_out.shape[0], h_out.shape[1], -1, cch)
                    arg = flat.argmax(axis=2)  # (oh, ow, c): winning window slot
                    a_di, a_dj = np.unravel_index(arg, k)
                    oh_, ow_, cc = np.meshgrid(*map(np.arange, h_out.shape), indexing="ij")
                    src_i = i[oh_, ow_, a_di, a_dj]
                    src_j = j[oh_, ow_, a_di, a_dj]
                    src = prev_ids[src_i, src_j, cc]
                    dst = ids
                    contrib = prev_h[src_i, src_j, cc].astype(np.float64)
                else:  # AveragePooling2D
                    cch = prev_h.shape[2]
                    c = np.arange(cch)[None, :]
                    src = prev_ids[ii[:, None], jj[:, None], c]
                    dst = ids[oi[:, None], oj[:, None], c]
                    count = valid.sum(axis=(2, 3))  # padded cells are not averaged
                    contrib = prev_h[ii[:, None], jj[:, None], c] / count[oi, oj][:, None]
            src, dst = np.asarray(src).reshape(-1), np.asarray(dst).reshape(-1)
            contrib = np.asarray(contrib, dtype=np.float64).reshape(-1)
            if percentile is not None and len(contrib):
                phi = np.abs(contrib)
                keep = phi > np.percentile(phi, percentile)  # this layer's cut
                src, dst, contrib = src[keep], dst[keep], contrib[keep]
            us.append(src)
            vs.append(dst)
            ss.append(contrib)
        prev_ids, prev_h = ids, h_out
    cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)
    return InducedGraph(
        cat(us, np.int64),
        cat(vs, np.int64),
        cat(ss, np.float64),
        table,
        acts,
        None if percentile is None else float(percentile),
    )
