"The drawing helpers: what a reader is told a figure shows is what is drawn"
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from bpnotes.mlp import MLP  # noqa: E402
from bpnotes.plotting import draw_delta_reuse, draw_network, draw_weights_and_grads  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax):
    return [t.get_text() for t in ax.texts]


def solid(ax):
    return [l for l in ax.lines if l.get_linestyle() == "-"]


def dashed(ax):
    return [l for l in ax.lines if l.get_linestyle() != "-"]


def heights(n):
    "draw_network's layout: the heights of n units, top first"
    return np.arange(n)[::-1] - (n - 1) / 2


def luminance(colour):
    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_every_weight_bias_and_loss_edge_is_drawn_once():
    ax = draw_network((3, 4, 2), loss=True)
    assert len(solid(ax)) == 3 * 4 + 4 * 2 + 2      # weights, then every output to the loss
    assert len(dashed(ax)) == 4 + 2                 # one bias edge into every unit after the input
    assert r"$\mathcal{L}$" in texts(ax)
    assert r"$\mathcal{L}$" not in texts(draw_network((3, 4, 2)))


def test_columns_are_named_input_hidden_output():
    assert {"input", "hidden", "output"} <= set(texts(draw_network((3, 5, 2))))
    deep = texts(draw_network((3, 4, 3, 2), loss=True))
    assert {"input", "hidden 1", "hidden 2", "output", "loss"} <= set(deep)
    assert "input" not in texts(draw_network((3, 5, 2), columns=False))


def test_bias_edges_are_darker_than_the_weight_edges():
    ax = draw_network((3, 5, 2))
    weight = {l.get_color() for l in solid(ax)}
    bias = {l.get_color() for l in dashed(ax)}
    assert len(weight) == len(bias) == 1
    assert luminance(bias.pop()) < luminance(weight.pop()) - 0.15


def test_a_highlighted_edge_joins_the_units_it_names_and_carries_both_names():
    ax = draw_network((3, 5, 2), edge_colors={(1, 3, 1): "crimson"},
                      edge_labels={(1, 3, 1): ("$(W_h)_{42}$", "W_h[3, 1]")})
    red = [l for l in ax.lines if l.get_color() == "crimson"]
    assert len(red) == 1
    (x0, x1), (y0, y1) = red[0].get_xdata(), red[0].get_ydata()
    assert (y0, y1) == (heights(5)[3], heights(2)[1]) and 3 < x0 < x1 < 6   # hidden → output
    label = [t for t in texts(ax) if "W_h" in t and "42" in t]
    assert label == ["$(W_h)_{42}$\n" + r"$\mathtt{W\_h[3,\ 1]}$"]


def sampled(line, ax, n=200):
    "Points along a drawn line, in display coordinates"
    (x0, x1), (y0, y1) = line.get_xdata()[[0, -1]], line.get_ydata()[[0, -1]]
    t = np.linspace(0, 1, n)
    return ax.transData.transform(np.column_stack([x0 + t * (x1 - x0), y0 + t * (y1 - y0)]))


@pytest.mark.parametrize("sizes, key", [((3, 5, 2), (1, 3, 1)), ((3, 5, 3), (1, 3, 1)),
                                        ((3, 4, 3, 2), (1, 0, 2)), ((2, 2, 2), (0, 1, 0))])
def test_a_lone_label_hides_no_edge_and_a_leader_points_at_its_own(sizes, key):
    "R4 10 / R5 15: the (W_h)_42 label's white box erased the h3→o2 edge, between two edges"
    ax = draw_network(sizes, edge_colors={key: "crimson"},
                      edge_labels={key: ("$(W)_{jk}$", "W[j, k]")})
    ax.figure.canvas.draw()
    label = [t for t in ax.texts if t.get_text().startswith("$(W)_{jk}$")]
    assert len(label) == 1
    box = label[0].get_bbox_patch().get_window_extent()
    for line in ax.lines:                                   # every weight and bias edge
        assert not box.count_contains(sampled(line, ax)), line.get_xydata()
    for patch in ax.patches:                                # every unit and constant-1 square
        assert not box.overlaps(patch.get_window_extent())
    for text in ax.texts:                                   # unit names, column names
        if text is not label[0]:
            assert not box.overlaps(text.get_window_extent())
    layer, j, k = key                                       # the leader ends on the named edge,
    (x0, y0), (x1, y1) = (3 * layer + 0.3, heights(sizes[layer])[j]), \
        (3 * layer + 2.7, heights(sizes[layer + 1])[k])
    x, y = label[0].xy
    t = (x - x0) / (x1 - x0)
    assert 0.2 < t < 0.9 and abs(y - (y0 + t * (y1 - y0))) < 1e-9
    lx, ly = label[0].get_position()                        # the leader runs through no unit
    for layer_x, n_units in enumerate(sizes):
        for cy in heights(n_units):
            cx = 3 * layer_x
            u = np.clip(((cx - lx) * (x - lx) + (cy - ly) * (y - ly)) / ((x - lx) ** 2 + (y - ly) ** 2), 0, 1)
            assert np.hypot(lx + u * (x - lx) - cx, ly + u * (y - ly) - cy) > 0.3, (cx, cy)
    for line in ax.lines:                                   # where no other edge runs
        (a0, a1), (b0, b1) = line.get_xdata()[[0, -1]], line.get_ydata()[[0, -1]]
        if (a0, b0, a1, b1) != (x0, y0, x1, y1):
            u = np.clip(((x - a0) * (a1 - a0) + (y - b0) * (b1 - b0))
                        / ((a1 - a0) ** 2 + (b1 - b0) ** 2), 0, 1)
            assert np.hypot(a0 + u * (a1 - a0) - x, b0 + u * (b1 - b0) - y) > 0.1


def test_faint_greys_out_only_what_is_not_highlighted():
    ax = draw_network((3, 5, 2), edge_colors={(0, 0, 0): "crimson"}, faint=True)
    colours = [l.get_color() for l in ax.lines]
    assert colours.count("crimson") == 1
    assert all(luminance(c) > 0.85 for c in colours if c != "crimson")


def test_edge_values_leave_the_loss_edges_plain():
    values = [np.ones((3, 5)), np.arange(10.0).reshape(5, 2)]
    ax = draw_network((3, 5, 2), edge_values=values, loss=True)
    assert len(solid(ax)) == 15 + 10 + 2


@pytest.mark.parametrize("unit", [0, 3])
def test_delta_reuse_draws_one_head_per_input_and_one_shared_tail(unit):
    m, p, n = 3, 5, 2
    ax = draw_delta_reuse((m, p, n), unit=unit)
    thick = [l for l in ax.lines if l.get_linewidth() > 2]
    y_h = heights(p)[unit]
    heads = [l for l in solid(ax) if l in thick and l.get_xdata()[0] < 3 and l.get_ydata()[1] == y_h]
    tail = [l for l in thick if 3 < l.get_xdata()[0] < 6 and l.get_ydata()[0] == y_h]
    to_loss = [l for l in thick if l.get_xdata()[0] > 6]
    assert len(heads) == m and len({l.get_color() for l in heads}) == m
    assert [l.get_ydata()[0] for l in heads] == list(heights(m))
    bias = [l for l in thick if l.get_linestyle() != "-"]               # R4 2: the bias, a further head
    assert len(bias) == 1 and bias[0].get_ydata()[1] == y_h and bias[0].get_xdata()[0] < 1
    assert bias[0].get_ydata()[0] < heights(p).min() - 1                # from the constant-1 square
    assert len(tail) == n and len(to_loss) == n and len(thick) == m + 1 + 2 * n
    u = unit + 1
    assert any(rf"(\delta_h)_{{{u}}}" in t for t in texts(ax))
    assert any(f"all {p} hidden units" in t for t in texts(ax))
    factors = {f"$(b_i)_{{{u}}}$", rf"$\varphi'((z_h)_{{{u}}})$"}         # R4 2: the route's factors
    for k in range(1, n + 1):
        factors |= {f"$(W_h)_{{{u}{k}}}$", rf"$\psi'((z_o)_{{{k}}})$", rf"$\partial\mathcal{{L}}/\partial o_{{{k}}}$"}
    assert factors <= set(texts(ax))
    ax.figure.canvas.draw()
    boxes = [t.get_window_extent() for t in ax.texts if t.get_text()]
    for a in range(len(boxes)):                                         # no label on another
        for b in range(a):
            assert not boxes[a].overlaps(boxes[b]), (ax.texts[a].get_text(), ax.texts[b].get_text())


def test_deeper_networks_name_their_hidden_units_as_the_notation_does():
    "Units of hidden layer ℓ are (a_ℓ)_j, a row of A_ℓ (the notation page), no more h^(ℓ)"
    labels = texts(draw_network((3, 4, 3, 2)))
    assert {"$(a_{1})_{1}$", "$(a_{1})_{4}$", "$(a_{2})_{3}$", "$x_{3}$", "$o_{2}$"} <= set(labels)
    assert not any("h^" in t for t in labels)
    assert {"$h_{5}$", "$W_i$", "$b_h$"} <= set(texts(draw_network((3, 5, 2))))   # the notes' network keeps h


def weights_and_grads(sizes, seed):
    rng = np.random.default_rng(seed)
    net = MLP(list(sizes), activation="tanh", loss="softmax_cross_entropy", seed=seed)
    X, y = rng.normal(size=(5, sizes[0])), rng.integers(0, sizes[-1], size=5)
    ax = draw_weights_and_grads(net, X, y)
    _, grads = net.loss_and_grads(X, y)
    return ax, net, grads


def edge_labels(ax):
    "The edge labels: texts with a box, two numbers on two lines"
    return [t for t in ax.texts if t.get_bbox_patch() is not None and t.get_text().count("\n") == 1]


@pytest.mark.parametrize("sizes, seed", [((2, 3, 2), 0), ((2, 3, 2), 1), ((3, 4, 2), 1), ((2, 3, 3, 2), 2)])
def test_weights_and_grads_labels_are_legible(sizes, seed):
    "R2 13: labels overlapped ('-0.0-0.09') and some were yellow on white; now each sits apart, dark on light"
    ax, net, grads = weights_and_grads(sizes, seed)
    labels = edge_labels(ax)
    expected = {f"{W[j, k]:+.2f}\n{dW[j, k]:+.3f}" for (W, _), (dW, _) in zip(net.params, grads)
                for j in range(W.shape[0]) for k in range(W.shape[1])}
    assert sorted(t.get_text() for t in labels) == sorted(expected)     # every weight, once, with its gradient
    ax.figure.canvas.draw()                                             # the boxes take their place
    boxes = [t.get_bbox_patch().get_window_extent() for t in labels]
    for a in range(len(boxes)):
        for b in range(a):
            assert not boxes[a].overlaps(boxes[b]), (labels[a].get_text(), labels[b].get_text())
    for t in labels:
        assert luminance(t.get_color()) < 0.2                          # dark text
        assert luminance(t.get_bbox_patch().get_facecolor()) > 0.75     # on a light box


def test_weights_and_grads_put_each_label_on_its_own_edge_and_every_edge_shows():
    "The plotting page's example, where one gradient is 0.001: its edge was pale yellow on white"
    rng = np.random.default_rng(0)
    net = MLP([2, 3, 2], activation="tanh", loss="softmax_cross_entropy", seed=0)
    X, y = rng.normal(size=(4, 2)), np.array([0, 1, 1, 0])
    ax = draw_weights_and_grads(net, X, y)
    _, grads = net.loss_and_grads(X, y)
    assert min(np.abs(dW).min() / np.abs(dW).max() for dW, _ in grads) < 0.02
    by_text = {t.get_text(): t.get_position() for t in edge_labels(ax)}
    for layer, ((W, _), (dW, _)) in enumerate(zip(net.params, grads)):
        for j in range(W.shape[0]):
            for k in range(W.shape[1]):
                x, y = by_text[f"{W[j, k]:+.2f}\n{dW[j, k]:+.3f}"]
                (x0, y0), (x1, y1) = (3 * layer + 0.3, heights(W.shape[0])[j]), (3 * layer + 2.7, heights(W.shape[1])[k])
                t = (x - x0) / (x1 - x0)
                assert 0 < t < 1 and abs(y - (y0 + t * (y1 - y0))) < 1e-9     # on the segment from unit j to k
    weights = [l for l in solid(ax)]
    assert len(weights) == 2 * 3 + 3 * 2
    assert max(luminance(l.get_color()) for l in weights) < 0.8          # no edge pale yellow on white


def test_importing_the_plotting_module_does_not_load_matplotlib():
    code = "import sys, bpnotes.plotting; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
