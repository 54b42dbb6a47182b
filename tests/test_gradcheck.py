"""`bpnotes.gradcheck` and the mistakes gallery: every mistake rejected, every correct gradient passed,
on hypothesis-drawn non-square shapes including a single row; readable reports and errors; kinks skipped."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from bpnotes.gradcheck import GradientCheckError, check_grads, check_mlp, numeric_grad
from bpnotes.layers import two_layer_grads
from bpnotes.mlp import MLP
from bpnotes.loss import mse
from bpnotes.mistakes import MISTAKES, backprop, check_mistake, forgot_phi_prime, mse_loss
from bpnotes.single_value import ACTIVATIONS
from bpnotes.vector import output_layer_grads
from conftest import examples, random_biases, targets


@st.composite
def non_square(draw):
    "Batch size and widths m, p, n, all different so that no transpose can hide behind a square shape"
    m, p, n = draw(st.lists(st.integers(1, 7), min_size=3, max_size=3, unique=True))
    return draw(st.integers(1, 8)), m, p, n


@pytest.mark.parametrize("name", list(MISTAKES))
@settings(max_examples=examples(25), deadline=None)
@given(shape=non_square(), seed=st.integers(0, 2**32 - 1))
def test_every_mistake_is_rejected_and_its_fix_passes(name, shape, seed):
    B, m, p, n = shape
    wrong, right = check_mistake(MISTAKES[name], B, m, p, n, seed)
    assert right.ok, right
    if name == "sum instead of mean" and B == 1:
        assert wrong.ok  # with one row, sum and mean coincide: the checker must not cry wolf
    else:
        assert not wrong.ok, wrong


@settings(max_examples=examples(60), deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4), B=st.integers(1, 6),
       activation=st.sampled_from(["sigmoid", "tanh", "relu", "identity"]),
       loss=st.sampled_from(["mse", "softmax_cross_entropy", "binary_cross_entropy"]), seed=st.integers(0, 2**32 - 1),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_every_mlp_gradient_passes(sizes, B, activation, loss, seed, dtype):
    "Random depths, widths, batches (1 included), activations, losses and both dtypes: never a false alarm"
    rng = np.random.default_rng(seed)
    net = MLP(sizes, activation=activation, loss=loss, seed=seed, dtype=dtype)
    random_biases(net, rng)
    X, y = rng.normal(size=(B, sizes[0])), targets(rng, loss, B, sizes[-1])
    report = check_mlp(net, X, y)
    assert report.verdict != "failed", report
    if report.verdict == "inconclusive":   # a ReLU kink within ±4 eps of a parameter's only entries,
        notes = " ".join(report.notes)     # or float32 entries too small for its atol to judge
        assert ((activation == "relu" and "check again" in notes)
                or (dtype == np.float32 and "too small to judge" in notes)), report
    if activation != "relu" and dtype == np.float64:   # no kink, so nothing to skip (float32 skips where its
        assert report.ok and not any(p.skipped for p in report.params), report   # round-off hides the slope)


def test_section_gradients_pass(rng):
    "The vectorised formulas of sections 3 and 4, for every output activation"
    X, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 2))
    params = dict(W_i=rng.normal(size=(3, 5)), b_i=rng.normal(size=5), W_h=rng.normal(size=(5, 2)), b_h=rng.normal(size=2))
    for psi in ACTIVATIONS:
        f = lambda W_i, b_i, W_h, b_h: mse(ACTIVATIONS[psi](np.tanh(X @ W_i + b_i) @ W_h + b_h), Y)
        grads = dict(zip(params, two_layer_grads(X, *params.values(), Y, "tanh", psi)))
        assert check_grads(f, params, grads).ok
        H = np.tanh(X @ params["W_i"] + params["b_i"])
        f_out = lambda W_h, b_h: mse(ACTIVATIONS[psi](H @ W_h + b_h), Y)
        assert check_grads(f_out, [params["W_h"], params["b_h"]], output_layer_grads(H, params["W_h"], params["b_h"], Y, psi)).ok


def test_report_names_the_worst_entry_and_the_error_is_readable():
    W = np.array([[1.0, -2.0, 0.5], [0.3, 0.7, -1.1]])
    f = lambda W: (W ** 3).sum()
    grad = 3 * W ** 2
    grad[1, 2] += 0.5                                   # one wrong entry
    report = check_grads(f, {"W": W}, {"W": grad})
    (row,) = report.params
    assert not report.ok and row.index == (1, 2)
    assert row.analytic == pytest.approx(3 * 1.21 + 0.5) and row.numeric == pytest.approx(3 * 1.21, rel=1e-9)
    assert report.max_rel_error == pytest.approx(0.5 / 12, rel=1e-6)    # relative to the largest entry, 12
    with pytest.raises(GradientCheckError) as err:
        report.raise_if_failed()
    message = str(err.value)
    for words in ["W", "(1, 2)", "analytic 4.13", "numeric 3.63", "relative error 4.2e-02"]:
        assert words in message, message
    assert "W" in repr(report) and "FAIL" in repr(report) and "| W | (2, 3) |" in report._repr_markdown_()
    assert check_grads(f, {"W": W}, {"W": 3 * W ** 2}).raise_if_failed().ok


def test_params_as_list_or_single_array():
    x = np.linspace(-1, 1, 5)
    assert check_grads(lambda x: np.sin(x).sum(), x, np.cos(x)).ok
    a, b = np.array([1.0, 2.0]), np.array([[0.5]])
    report = check_grads(lambda a, b: (a ** 2).sum() * b[0, 0], [a, b], [2 * a * b[0, 0], np.array([[5.0]])])
    assert report.ok and [p.name for p in report.params] == ["params[0]", "params[1]"]


def test_shape_mismatch_and_nan_are_failures_not_crashes():
    W = np.ones((2, 3))
    report = check_grads(lambda W: (W ** 2).sum(), {"W": W}, {"W": np.ones((3, 2))})
    assert not report.ok and report.max_rel_error == math.inf
    assert "the gradient has shape (3, 2) but the parameter has shape (2, 3)" in str(pytest.raises(GradientCheckError, report.raise_if_failed).value)
    assert not check_grads(lambda W: (W ** 2).sum(), {"W": W}, {"W": np.full((2, 3), np.nan)}).ok


@pytest.mark.parametrize("params, grads, exc, words", [
    ({"W": [[1.0, 2.0]]}, {"W": [[1.0, 2.0]]}, TypeError, "must be a float32 or float64 numpy array"),
    ({"W": np.ones(2, dtype=int)}, {"W": np.ones(2)}, TypeError, "dtype int64"),
    ({"W": np.ones(2)}, {"V": np.ones(2)}, ValueError, "grads has keys"),
    ([np.ones(2), np.ones(3)], [np.ones(2)], ValueError, "grads must match params"),
])
def test_bad_arguments_are_explained(params, grads, exc, words):
    with pytest.raises(exc, match=words):
        check_grads(lambda *a, **k: 0.0, params, grads)


def test_f_must_return_a_scalar():
    with pytest.raises(TypeError, match="scalar loss"):
        check_grads(lambda x: x * 2, np.ones(3), np.ones(3))


def test_numeric_grad_restores_exactly_any_shape_both_dtypes():
    for dtype in (np.float64, np.float32):
        for shape in [(), (4,), (2, 3), (2, 1, 3)]:
            x = np.random.default_rng(0).normal(size=shape).astype(dtype)
            before = x.copy()
            g = numeric_grad(lambda x: (np.sin(x) * x).sum(), x)
            assert g.shape == shape and np.array_equal(x, before)
            exact = (np.cos(x.astype(np.float64)) * x + np.sin(x.astype(np.float64)))
            tol = 1e-11 if dtype == np.float64 else 1e-4
            assert np.allclose(g, exact, rtol=tol, atol=tol)


def test_max_entries_samples_and_a_random_direction_catches_what_the_sample_missed():
    W = np.random.default_rng(1).normal(size=(40, 50))
    f = lambda W: (np.tanh(W) ** 2).sum()
    grad = 2 * np.tanh(W) * (1 - np.tanh(W) ** 2)
    report = check_grads(f, {"W": W}, {"W": grad}, max_entries=5)
    assert report.ok and report.params[0].checked == 6            # 5 entries and 1 direction
    wrong = grad.copy()
    wrong[17, 23] += 25.0                                         # one bad entry among 2000
    sampled = check_grads(f, {"W": W}, {"W": wrong}, max_entries=5)
    assert not sampled.ok and sampled.params[0].index == "direction 1"


def test_near_a_relu_kink_entries_are_skipped_not_failed():
    rng = np.random.default_rng(3)
    net = MLP([3, 5, 2], activation="relu", seed=3)
    X = rng.normal(size=(1, 3))
    W1, b1 = net.params[0]
    b1[2] = 1e-3 - (X @ W1)[0, 2]                                  # a pre-activation 1e-3 from the kink
    report = check_mlp(net, X, rng.normal(size=(1, 2)))
    assert report.ok and report.params[0].skipped >= 1
    assert any("kink" in note for note in report.notes)


def test_exact_relu_zero_is_skipped_and_reported():
    net = MLP([2, 3, 1], activation="relu", seed=0)
    report = check_mlp(net, np.zeros((1, 2)), np.ones((1, 1)))     # zero input, zero biases: z = 0 exactly
    b_1 = report.params[1]                                          # b_1 moves z across the kink at its centre:
    assert b_1.checked == 0 and b_1.skipped == 3                    # nothing of it can be judged, so
    assert report.verdict == "inconclusive" and not report.ok       # the check cannot pass
    assert any("exactly 0" in note for note in report.notes)
    assert any("kink" in note and "other points" in note for note in report.notes)
    with pytest.raises(GradientCheckError, match="inconclusive for b_1"):
        report.raise_if_failed()


def test_float32_mistakes_are_caught_too():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(7, 3)).astype(np.float32), rng.normal(size=(7, 2)).astype(np.float32)
    params = {k: v.astype(np.float32) for k, v in dict(W_i=rng.normal(size=(3, 5)) / 2, b_i=rng.normal(size=5) / 2,
                                                        W_h=rng.normal(size=(5, 2)) / 2, b_h=rng.normal(size=2) / 2).items()}
    f = lambda **p: mse_loss(X, Y, **p)
    assert check_grads(f, params, backprop(X, Y, **params)).ok
    assert not check_grads(f, params, forgot_phi_prime(X, Y, **params)).ok
