"The drawing helpers: what a reader is told a figure shows is what is drawn"
import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from bpnotes.plotting import draw_delta_reuse, draw_network  # noqa: E402


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
    heads = [l for l in thick if l.get_xdata()[0] < 3 and l.get_ydata()[1] == y_h]
    tail = [l for l in thick if 3 < l.get_xdata()[0] < 6 and l.get_ydata()[0] == y_h]
    to_loss = [l for l in thick if l.get_xdata()[0] > 6]
    assert len(heads) == m and len({l.get_color() for l in heads}) == m
    assert [l.get_ydata()[0] for l in heads] == list(heights(m))
    assert len(tail) == n and len(to_loss) == n and len(thick) == m + 2 * n
    assert any(rf"(\delta_h)_{{{unit + 1}}}" in t for t in texts(ax))
    assert any(f"all {p} hidden units" in t for t in texts(ax))


def test_importing_the_plotting_module_does_not_load_matplotlib():
    code = "import sys, bpnotes.plotting; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
