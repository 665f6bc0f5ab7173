"""Drawings: filters, barcodes, Mapper graphs (static and interactive). Computing happens
elsewhere; every function here takes results and returns the matplotlib axes or HTML."""

from __future__ import annotations

import base64
import html as _html
import io
import json

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.offsetbox import AnnotationBbox, OffsetImage

from .checks import positive_int
from .topology.persistence import Persistence


def _square(F, image_shape):
    F = np.asarray(F, dtype=np.float64)
    if F.ndim == 1:
        F = F[None]
    if image_shape is None:
        s = int(round(np.sqrt(F.shape[1])))
        image_shape = (s, s)
    if np.prod(image_shape) != F.shape[1]:
        raise ValueError(f"image_shape {image_shape} does not hold {F.shape[1]} values per filter.")
    return F.reshape(len(F), *image_shape)


def plot_filters(
    F, *, image_shape=None, ncols: int = 8, titles=None, title=None, axes=None, cmap="gray"
):
    """Draw filters (rows of ``F``) as small gray images, each scaled symmetrically about 0.

    ``titles`` label each filter, ``title`` the whole figure. Returns the array of axes.
    """
    positive_int("ncols", ncols)
    imgs = _square(F, image_shape)
    n = len(imgs)
    if axes is None:
        nrows = int(np.ceil(n / ncols))
        fig, axes = plt.subplots(
            nrows,
            min(ncols, n),
            figsize=(0.95 * min(ncols, n), 1.05 * nrows + 0.4 * (title is not None)),
            squeeze=False,
            layout="constrained",
        )
        if title is not None:
            fig.suptitle(title)
    axes = np.asarray(axes).ravel()
    for i, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])  # keep the frame: white pixels stay visible
        if i >= n:
            ax.set_axis_off()
        else:
            v = np.abs(imgs[i]).max() or 1.0
            ax.imshow(imgs[i], cmap=cmap, vmin=-v, vmax=v)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    return axes


def plot_barcode(pers: Persistence, *, dims=(0, 1), max_bars: int = 40, axes=None, title=None):
    """Barcodes, one panel per homology dimension, longest bars on top.

    Essential bars (infinite death) are drawn to the right edge with an arrow head.
    Only the ``max_bars`` longest bars of each dimension are drawn (the title says how many
    there are in all).
    """
    if not isinstance(pers, Persistence):
        raise ValueError("pers must be a Persistence (from th.rips).")
    if axes is None:
        _, axes = plt.subplots(1, len(dims), figsize=(3.8 * len(dims), 3), squeeze=False)
    axes = np.asarray(axes).ravel()
    finite = np.concatenate(
        [d[np.isfinite(d[:, 1]), 1] for d in pers.dgms if len(d)] or [np.ones(1)]
    )
    right = 1.1 * finite.max() if len(finite) else 1.0
    for ax, dim in zip(axes, dims):
        d = pers.dgms[dim]
        order = np.argsort(-(d[:, 1] - d[:, 0]), kind="stable")[:max_bars]
        for row, (b, e) in enumerate(d[order][::-1]):
            inf = not np.isfinite(e)
            ax.plot(
                [b, right if inf else e], [row, row], lw=2.5, color=f"C{dim}", solid_capstyle="butt"
            )
            if inf:
                ax.plot(right, row, ">", color=f"C{dim}", ms=5)
        ax.set_yticks([])
        ax.set_xlim(0, right * 1.03)
        ax.set_xlabel("scale")
        shown = f", {len(order)} longest" if len(d) > len(order) else ""
        ax.set_title(
            f"H{dim}: {len(d)} bars{shown}" if title is None else f"{title} — H{dim}", fontsize=10
        )
    return axes


def plot_diagram(pers: Persistence, *, ax=None, title=None):
    """Persistence diagram of every computed dimension (persim's drawing)."""
    from persim import plot_diagrams

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    plot_diagrams(pers.dgms, ax=ax, show=False, title=title)
    return ax


def _node_positions(mapper):
    import networkx as nx

    if mapper.lens_.shape[1] >= 2:
        return mapper.positions()
    return nx.spring_layout(mapper.G_, seed=0)


def plot_mapper(
    mapper,
    X=None,
    *,
    image_shape=None,
    n_thumbnails: int = 12,
    ax=None,
    cmap="jet",
    title=None,
    node_color=None,
    color_label="points in node",
    colorbar: bool = True,
):
    """Static drawing of a fitted :class:`~topohelpers.topology.mapper.Mapper` graph.

    Nodes sit at the mean lens value of their members (a spring layout for a 1-D lens),
    sized by the number of points they hold and coloured by it too (red = many, as in the
    papers) unless ``node_color`` maps each node to another value.
    With ``X`` (the filters) and a 2-D lens, the mean filter of the ``n_thumbnails`` nodes of
    :meth:`Mapper.around` is shown beside them.
    """
    if not hasattr(mapper, "G_"):
        raise ValueError("mapper is not fitted: call Mapper(...).fit(X) first.")
    G, pos = mapper.G_, _node_positions(mapper)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 7))
    nodes = list(G.nodes)
    sizes = np.array([G.nodes[k]["size"] for k in nodes], dtype=float)
    xy = np.array([pos[k] for k in nodes]) if nodes else np.zeros((0, 2))
    if G.number_of_edges():
        from matplotlib.collections import LineCollection

        segments = [(pos[a], pos[b]) for a, b in G.edges]
        ax.add_collection(LineCollection(segments, colors="0.6", linewidths=0.5, zorder=1))
    colors = sizes if node_color is None else np.array([node_color[k] for k in nodes], dtype=float)
    sc = ax.scatter(
        xy[:, 0],
        xy[:, 1],
        c=colors,
        s=10 + 60 * sizes / max(sizes.max(), 1),
        cmap=cmap,
        zorder=2,
        edgecolors="k",
        linewidths=0.2,
    )
    if colorbar:
        plt.colorbar(sc, ax=ax, shrink=0.6, label=color_label)
    if X is not None and n_thumbnails and nodes and mapper.lens_.shape[1] >= 2:
        means = mapper.node_means(X)
        centre = xy.mean(axis=0)
        reach = np.abs(xy - centre).max()
        for node in mapper.around(n_thumbnails):
            i = nodes.index(node)
            img = _square(means[node], image_shape)[0]
            v = np.abs(img).max() or 1.0
            box = OffsetImage(
                img, zoom=max(12 / img.shape[0], 1), cmap="gray", norm=plt.Normalize(-v, v)
            )
            direction = (xy[i] - centre) / (np.linalg.norm(xy[i] - centre) or 1)
            ab = AnnotationBbox(
                box,
                xy[i],
                xybox=centre + direction * reach * 1.25,
                xycoords="data",
                arrowprops=dict(arrowstyle="-", color="0.4", lw=0.6),
                frameon=True,
                pad=0.1,
            )
            ax.add_artist(ab)
        lim = reach * 1.45
        ax.set_xlim(centre[0] - lim, centre[0] + lim)
        ax.set_ylim(centre[1] - lim, centre[1] + lim)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    s = mapper.summary_
    ax.set_title(
        title
        or f"Mapper({mapper.resolution}, {mapper.gain}): {s.n_nodes} nodes, "
        f"{s.n_components} components, {s.n_loops} loops",
        fontsize=10,
    )
    return ax


def _png_data_uri(img) -> str:
    v = np.abs(img).max() or 1.0
    buf = io.BytesIO()
    plt.imsave(buf, img, cmap="gray", vmin=-v, vmax=v, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


_MAPPER_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title><style>
body {{ margin: 0; font: 13px/1.35 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       background: #fff; }}
.wrap {{ display: flex; flex-wrap: wrap; gap: 8px; padding: 6px; }}
svg {{ flex: 1 1 430px; max-width: 100%; height: auto; border: 1px solid #ddd; }}
.side {{ flex: 1 1 200px; min-width: 180px; }}
h1 {{ font-size: 14px; margin: 0 0 4px; }}
.legend {{ height: 12px; border: 1px solid #999;
          background: linear-gradient(to right, {gradient}); }}
.ticks {{ display: flex; justify-content: space-between; font-size: 12px; }}
#info {{ margin-top: 8px; }}
#info img {{ width: 24px; height: 24px; image-rendering: pixelated; margin: 1px;
            border: 1px solid #ccc; }}
circle {{ stroke: #333; stroke-width: 0.6; cursor: pointer; }}
circle.on {{ stroke: #d62728; stroke-width: 2.5; }}
line {{ stroke: #9a9a9a; stroke-width: 1; }}
</style></head><body><div class="wrap">
<svg id="g" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{title}">
{edges}
{nodes}
</svg>
<div class="side"><h1>{title}</h1>
<div>{summary}</div>
<div style="margin-top:6px">node colour: {color_name}</div>
<div class="legend"></div><div class="ticks"><span>{lo}</span><span>{hi}</span></div>
<div style="margin-top:4px">node area: points in the node</div>
<div id="info">Hover over or click a node to see its members.</div></div></div>
<script>
var M = {members}, T = {thumbs}, V = {values}, pinned = null;
function show(i) {{
  var m = M[i], html = "<b>node " + i + "</b>: " + m.length + " points"
    + ({color_name_js} ? ", " + {color_name_js} + " " + V[i] : "") + "<br>";
  for (var j = 0; j < Math.min(m.length, {max_thumbs}); j++) html += '<img src="' + T[m[j]] + '">';
  if (m.length > {max_thumbs}) html += "<br>… and " + (m.length - {max_thumbs}) + " more";
  document.getElementById("info").innerHTML = html;
}}
document.querySelectorAll("circle").forEach(function (c) {{
  var i = +c.getAttribute("data-i");
  c.addEventListener("mouseenter", function () {{ if (pinned === null) show(i); }});
  c.addEventListener("click", function () {{
    if (pinned !== null) pinned.classList.remove("on");
    pinned = (pinned === c) ? null : c;
    if (pinned) {{ c.classList.add("on"); show(i); }}
  }});
}});
</script></body></html>"""


def mapper_html(
    mapper,
    X,
    *,
    image_shape=None,
    title="Mapper graph",
    node_color=None,
    color_label="points in node",
    cmap="viridis",
    max_thumbnails: int = 60,
    seed: int = 0,
) -> str:
    """A self-contained interactive page of a fitted Mapper graph: nothing is loaded from
    outside (no d3, no fonts), so it works offline and in Colab.

    The layout is a seeded spring layout computed here, scaled to fill the frame; nodes are
    sized by the points they hold and coloured by ``node_color`` (node -> value; default:
    the points in the node) on a ``cmap`` with a legend. Hovering over a node, or clicking it
    to pin it, lists its member filters (rows of ``X``) as small images beside the graph.
    Returns the HTML text (see :func:`show_html`)."""
    import matplotlib as mpl
    import networkx as nx

    if not hasattr(mapper, "G_"):
        raise ValueError("mapper is not fitted: call Mapper(...).fit(X) first.")
    positive_int("max_thumbnails", max_thumbnails)
    imgs = _square(X, image_shape)
    if len(imgs) != mapper.n_points_:
        raise ValueError(f"X has {len(imgs)} rows but the Mapper was fitted on {mapper.n_points_}.")
    G = mapper.G_
    nodes = list(G.nodes)
    index = {k: i for i, k in enumerate(nodes)}
    sizes = np.array([G.nodes[k]["size"] for k in nodes], dtype=float)
    if node_color is None:
        values = sizes
    else:
        missing = [k for k in nodes if k not in node_color]
        if missing:
            raise ValueError(
                f"node_color has no value for {len(missing)} nodes, e.g. {missing[0]!r}."
            )
        values = np.array([node_color[k] for k in nodes], dtype=float)
    w, h, pad = 560, 460, 14
    pos = nx.spring_layout(G, seed=seed) if nodes else {}
    xy = np.array([pos[k] for k in nodes]) if nodes else np.zeros((0, 2))
    if len(xy):
        lo, span = xy.min(axis=0), np.ptp(xy, axis=0)
        span[span == 0] = 1
        xy = pad + (xy - lo) / span * [w - 2 * pad, h - 2 * pad]
    radius = 2.5 + 8 * np.sqrt(sizes / max(sizes.max(initial=0), 1))
    vmin, vmax = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    norm = mpl.colors.Normalize(vmin, vmax if vmax > vmin else vmin + 1)
    colormap = mpl.colormaps[cmap]
    hexes = [mpl.colors.to_hex(colormap(norm(v))) for v in values]
    edges = "\n".join(
        f'<line x1="{xy[index[a], 0]:.1f}" y1="{xy[index[a], 1]:.1f}" '
        f'x2="{xy[index[b], 0]:.1f}" y2="{xy[index[b], 1]:.1f}"/>'
        for a, b in G.edges
    )
    circles = "\n".join(
        f'<circle data-i="{i}" cx="{xy[i, 0]:.1f}" cy="{xy[i, 1]:.1f}" r="{radius[i]:.1f}" '
        f'fill="{hexes[i]}"><title>node {i}: {int(sizes[i])} points</title></circle>'
        for i in range(len(nodes))
    )
    used = sorted({int(m) for k in nodes for m in G.nodes[k]["members"]})
    thumbs = {m: _png_data_uri(imgs[m]) for m in used}
    members = [[int(m) for m in G.nodes[k]["members"]] for k in nodes]
    fmt = (lambda v: f"{v:.3g}") if node_color is not None else (lambda v: f"{v:.0f}")
    s = mapper.summary_
    return _MAPPER_PAGE.format(
        title=_html.escape(title),
        w=w,
        h=h,
        edges=edges,
        nodes=circles,
        gradient=", ".join(mpl.colors.to_hex(colormap(t)) for t in np.linspace(0, 1, 9)),
        summary=f"{s.n_nodes} nodes, {s.n_components} components, {s.n_loops} loops",
        color_name=_html.escape(color_label),
        color_name_js=json.dumps(color_label if node_color is not None else ""),
        lo=fmt(vmin),
        hi=fmt(vmax),
        members=json.dumps(members),
        thumbs=json.dumps({str(m): t for m, t in thumbs.items()}),
        values=json.dumps([fmt(v) for v in values]),
        max_thumbs=int(max_thumbnails),
    )


def show_html(page: str, *, height: int = 620):
    """Embed a whole HTML page in a notebook or book page (an iframe with ``srcdoc``)."""
    from IPython.display import HTML

    return HTML(  # in a div: IPython warns about a bare iframe
        f'<div><iframe srcdoc="{_html.escape(page, quote=True)}" width="100%" height="{height}" '
        'style="border:1px solid #ddd" loading="lazy"></iframe></div>'
    )


def plot_grid(
    values,
    xticklabels,
    yticklabels,
    *,
    ax=None,
    xlabel="",
    ylabel="",
    title="",
    marks=None,
    fmt=".1f",
    cmap="viridis",
):
    """A parameter grid as an annotated heat map (rows = y, columns = x); cells where ``marks``
    is True are outlined. Used for the stability sweeps."""
    from matplotlib.patches import Rectangle

    values = np.asarray(values, dtype=float)
    if values.shape != (len(yticklabels), len(xticklabels)):
        raise ValueError(
            f"values has shape {values.shape}, labels give {(len(yticklabels), len(xticklabels))}."
        )
    if ax is None:
        _, ax = plt.subplots(
            figsize=(min(7.8, 1 + 0.9 * values.shape[1]), 1 + 0.6 * values.shape[0])
        )
    finite = np.where(np.isfinite(values), values, np.nan)
    ax.imshow(finite, cmap=cmap, aspect="auto", origin="lower")
    top = np.nanmax(finite) if np.isfinite(finite).any() else 1
    for (i, j), v in np.ndenumerate(values):
        text = "∞" if np.isinf(v) else format(int(v) if fmt == "d" else v, fmt)
        ax.text(
            j,
            i,
            text,
            ha="center",
            va="center",
            color="white" if v < 0.6 * top else "black",
            fontsize=9,
        )
        if marks is not None and np.asarray(marks)[i, j]:
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="red", lw=2))
    ax.set_xticks(range(len(xticklabels)), [str(x) for x in xticklabels])
    ax.set_yticks(range(len(yticklabels)), [str(y) for y in yticklabels])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    return ax


def trajectories_3d(points, step, neuron, *, title="", max_neurons: int = 100) -> str:
    """Interactive 3-D view (plotly) of weight trajectories: the first three principal
    components of ``points``, one line per neuron, coloured by training step. Returns a whole
    HTML page for :func:`show_html`, with plotly.js inside it (≈ 4.7 MB), so it draws offline."""
    import plotly.graph_objects as go
    from sklearn.decomposition import PCA

    points, step, neuron = np.asarray(points), np.asarray(step), np.asarray(neuron)
    if not (len(points) == len(step) == len(neuron)):
        raise ValueError(
            "points, step and neuron must have one row each: "
            f"{len(points)}, {len(step)}, {len(neuron)}."
        )
    xyz = PCA(n_components=3).fit_transform(points)
    fig = go.Figure()
    for i in np.unique(neuron)[:max_neurons]:
        m = neuron == i
        order = np.argsort(step[m], kind="stable")
        p, s = xyz[m][order], step[m][order]
        fig.add_trace(
            go.Scatter3d(
                x=p[:, 0],
                y=p[:, 1],
                z=p[:, 2],
                mode="lines+markers",
                showlegend=False,
                marker=dict(
                    size=1.5, color=s, colorscale="Viridis", cmin=step.min(), cmax=step.max()
                ),
                line=dict(width=1, color="rgba(80,80,80,0.3)"),
                name=f"neuron {i}",
            )
        )
    fig.update_layout(
        title=title,
        margin=dict(l=0, r=0, t=30, b=0),
        height=560,
        scene=dict(xaxis_title="PC1", yaxis_title="PC2", zaxis_title="PC3"),
    )
    return fig.to_html(include_plotlyjs=True, full_html=True)
