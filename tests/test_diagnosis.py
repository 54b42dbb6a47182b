"""Diagnosis (issue 20): a failed check names what its numbers show, and only that.

Every slip of the gallery is named, at several sizes and in both precisions, from code written apart from
the code that makes the slips; a right gradient gets no diagnosis; random wrong gradients get none
(at least 99 % of them); a factor 1/B, a flipped sign and a transpose are named on a plain function."""
import re

import numpy as np
import pytest

from bpnotes.diagnosis import (DIAGNOSES, SLIPS, check_backprop, diagnose_mistake, same_numbers,
                               slip_variants, slipped_backprop)
from bpnotes.gradcheck import PATTERNS, GradientCheckError, check_grads
from bpnotes.layers import backprop, layer_outputs
from bpnotes.loss import get_loss
from bpnotes.mistakes import MISTAKES
from bpnotes.single_value import ACTIVATIONS, get_activation, sigmoid
from conftest import NBS, PAIRS, targets

SIZES = [(7, 3, 5, 2), (4, 2, 6, 3), (5, 6, 2, 4)]       # B, m, p, n: all different, B > 1


def network(sizes, rng, dtype=np.float64):
    return [((rng.normal(size=(fan_in, fan_out)) / np.sqrt(fan_in)).astype(dtype),
             (rng.normal(size=fan_out) / 2).astype(dtype))
            for fan_in, fan_out in zip(sizes, sizes[1:])]


# ---- the vocabulary ----

def test_the_vocabulary_is_one_public_table_with_a_page_for_every_name():
    assert set(SLIPS) == set(MISTAKES)
    assert DIAGNOSES == {**PATTERNS, **SLIPS} and len(DIAGNOSES) == len(PATTERNS) + len(SLIPS)
    pages = {p.stem.split("_", 1)[-1]: p.read_text() for p in NBS.glob("*.ipynb")}
    for name, entry in DIAGNOSES.items():
        assert entry.name == name and entry.meaning.endswith(".")
        page, anchor = entry.page.split(".html#")
        assert "{#" + anchor + "}" in pages[page], entry.page


# ---- every slip of the gallery, named ----

@pytest.mark.parametrize("name", list(MISTAKES))
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_gallery_mistake_is_named(name, size, dtype):
    mistake = MISTAKES[name]
    report = diagnose_mistake(mistake.wrong, mistake.kind, *size, seed=3, dtype=dtype)
    assert report.verdict == "failed" and name in report.diagnosis.names, report
    assert report.diagnosis.names <= set(DIAGNOSES)
    assert f"[{name}" in repr(report) or f"/ {name}" in repr(report)      # printed under the table


@pytest.mark.parametrize("name", list(MISTAKES))
def test_the_right_version_of_every_gallery_problem_gets_no_diagnosis(name):
    mistake = MISTAKES[name]
    report = diagnose_mistake(mistake.right, mistake.kind, 6, 3, 4, 2, seed=5)
    assert report.ok and report.diagnosis is None and "diagnosis" not in repr(report)


# Students' own code for networks of any depth, written apart from slipped_backprop:
# (the slip it makes, what it is, the layer where its error starts, given the depth D)

def loop(X, params, Y, phi, psi, loss, *, hidden=None, grads_of=None, output=None):
    "A plain backprop loop with hooks where a student's slip goes"
    A, D = layer_outputs(X, params, phi, psi), len(params)
    dL_dO = get_loss(loss).grad(A[D], Y)
    delta = (output or (lambda d, O: d * get_activation(psi).grad_from_output(O)))(dL_dO, A[D])
    grads = [None] * D
    for layer in range(D, 0, -1):
        W, A_in = params[layer - 1][0], A[layer - 1]
        grads[layer - 1] = (grads_of or (lambda A, d: (A.T @ d, d.sum(0))))(A_in, delta)
        if layer > 1:
            delta = (hidden or (lambda d, W, A: (d @ W.T) * get_activation(phi).grad_from_output(A)))(delta, W, A_in)
    return grads


STUDENTS = {
    "forgot phi'": (lambda *a: loop(*a, hidden=lambda d, W, A: d @ W.T), lambda D: D - 1),
    "phi'(a) for phi'(z)": (lambda X, P, Y, phi, psi, loss: loop(
        X, P, Y, phi, psi, loss, hidden=lambda d, W, A: (d @ W.T) * get_activation(phi).derivative(A)),
        lambda D: D - 1),
    "missing transpose": (lambda *a: loop(*a, grads_of=lambda A, d: (d.T @ A, d.sum(0))), lambda D: D),
    "bias not summed": (lambda *a: loop(*a, grads_of=lambda A, d: (A.T @ d, d)), lambda D: D),
    "sum instead of mean": (lambda X, P, Y, phi, psi, loss: loop(
        X, P, Y, phi, psi, loss, output=lambda d, O: d * len(O) * get_activation(psi).grad_from_output(O)),
        lambda D: D),
    "delta not through W^T": (lambda X, P, Y, phi, psi, loss: loop(
        X, P, Y, phi, psi, loss,
        hidden=lambda d, W, A: d.sum(1, keepdims=True) * get_activation(phi).grad_from_output(A)),
        lambda D: D - 1),
}


@pytest.mark.parametrize("slip", list(STUDENTS))
@pytest.mark.parametrize("sizes", [[3, 6, 4, 2], [4, 5, 3, 6, 1]])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_students_backprop_of_any_depth_gets_its_slip_and_layer_named(slip, sizes, dtype):
    rng = np.random.default_rng(len(sizes))
    params = network(sizes, rng, dtype)
    X, Y = rng.normal(size=(6, sizes[0])).astype(dtype), rng.normal(size=(6, sizes[-1])).astype(dtype)
    student, start = STUDENTS[slip]
    phi = "sigmoid" if slip == "phi'(a) for phi'(z)" else "tanh"
    report = check_backprop(student, X, params, Y, phi, "sigmoid", "mse")
    assert report.verdict == "failed" and slip in report.diagnosis.names, report
    assert report.diagnosis.layer == start(len(params))


@pytest.mark.parametrize("phi", list(ACTIVATIONS))
@pytest.mark.parametrize("psi, loss", PAIRS)
def test_the_right_backprop_gets_no_diagnosis(phi, psi, loss):
    rng = np.random.default_rng(11)
    sizes = [3, 5, 4, 2]
    params = network(sizes, rng)
    X, Y = rng.normal(size=(5, 3)), targets(rng, loss, 5, 2)
    report = check_backprop(backprop, X, params, Y, phi, psi, loss)
    assert report.verdict != "failed" and report.diagnosis is None, report


# ---- random wrong gradients get no diagnosis ----

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_random_wrong_gradients_get_no_diagnosis_in_99_percent_of_draws(dtype):
    "In both precisions; the only draws that may pass are noise smaller than ten times rtol"
    rng = np.random.default_rng(2026)
    rtol = {np.float64: 1e-6, np.float32: 1e-3}[dtype]
    failed = named = 0
    for draw in range(300):
        sizes = [int(rng.integers(2, 6)) for _ in range(int(rng.integers(3, 5)))]
        params = network(sizes, rng, dtype)
        X = rng.normal(size=(int(rng.integers(2, 7)), sizes[0])).astype(dtype)
        Y = rng.normal(size=(len(X), sizes[-1])).astype(dtype)
        right = backprop(X, params, Y, "tanh", "identity", "mse")
        size = 10 ** rng.uniform(-4, 0) if draw % 2 else None
        if size:
            wrong = [tuple((g + size * np.abs(g).max() * rng.normal(size=g.shape)).astype(dtype) for g in pair)
                     for pair in right]
        else:
            wrong = [tuple(rng.permutation(g.ravel()).reshape(g.shape) for g in pair) for pair in right]
        report = check_backprop(lambda *_: wrong, X, params, Y, "tanh", "identity", "mse")
        if report.verdict != "failed":
            assert size is not None and size < 10 * rtol, (draw, size, report)
        failed += report.verdict == "failed"
        named += report.diagnosis is not None
    assert failed >= 250 and named <= 0.01 * failed, (failed, named)


# ---- the patterns, on a plain function ----

@pytest.fixture
def plain(rng):
    "A linear layer with mean squared error: (f, params, right gradients, B)"
    X, Y = rng.normal(size=(7, 4)), rng.normal(size=(7, 3))
    params = {"W": rng.normal(size=(4, 3)), "b": rng.normal(size=3)}
    f = lambda W, b: np.mean((X @ W + b - Y) ** 2)
    R = X @ params["W"] + params["b"] - Y
    return f, params, {"W": 2 * X.T @ R / Y.size, "b": 2 * R.sum(0) / Y.size}, len(X)


def test_a_factor_one_over_B_is_named(plain):
    f, params, right, B = plain
    report = check_grads(f, params, {k: v / B for k, v in right.items()}, batch_size=B)
    assert report.diagnosis.names == {"factor 1/B"} and "1/7 = 1/B" in repr(report)
    with pytest.raises(GradientCheckError, match="1/7 = 1/B"):
        report.raise_if_failed()
    unnamed = check_grads(f, params, {k: v / B for k, v in right.items()})     # B not given:
    assert unnamed.diagnosis.names == {"constant factor"} and "1/7 times" in repr(unnamed)


def test_a_flipped_sign_is_named(plain):
    f, params, right, B = plain
    report = check_grads(f, params, {k: -v for k, v in right.items()}, batch_size=B)
    assert report.diagnosis.names == {"sign flipped"} and report.diagnosis.unexplained == []


@pytest.mark.parametrize("shape", [(4, 3), (3, 3)])
def test_a_transpose_is_named_square_or_not(shape, rng):
    X = rng.normal(size=(6, shape[0]))
    f = lambda W: np.sum(np.tanh(X @ W) ** 2) / len(X)
    W = rng.normal(size=shape)
    T = np.tanh(X @ W)
    right = 2 * X.T @ (T * (1 - T ** 2)) / len(X)
    assert check_grads(f, W, right).ok
    report = check_grads(f, W, right.T)
    assert report.diagnosis.names == {"transposed"}, report


def test_rows_columns_and_zeros_are_named_and_located(plain):
    f, params, right, B = plain
    last_row = {**right, "W": right["W"] * np.array([[1], [1], [1], [2]])}
    report = check_grads(f, params, last_row)
    (finding,) = report.diagnosis.findings
    assert finding.names == ("rows off", "factor 2") and "the last row (of 4)" in finding.sentence
    assert "2 times" in finding.sentence
    column = {**right, "W": right["W"] * np.array([1, 0, 1])}
    (finding,) = check_grads(f, params, column).diagnosis.findings
    assert finding.names == ("zeros",) and "column 1" in finding.sentence


def test_lines_off_must_be_the_few_not_the_many(rng):
    "Wrong in five rows of six and right in one is no pattern: the wrong part is named only when it is small"
    W = rng.normal(size=(6, 4))
    f = lambda W: np.sum(np.sin(W))
    wrong = np.cos(W)
    wrong[:5] += rng.normal(size=(5, 4))
    report = check_grads(f, W, wrong)
    assert report.verdict == "failed" and report.diagnosis is None
    wrong = np.cos(W)
    wrong[5] += rng.normal(size=4)
    assert check_grads(f, W, wrong).diagnosis.names == {"rows off"}


def test_a_mistake_no_pattern_explains_is_said_so(plain):
    f, params, right, B = plain
    wrong = {**right, "W": right["W"] + np.arange(12.0).reshape(4, 3) * 1e-2}
    report = check_grads(f, params, wrong, batch_size=B)
    assert report.verdict == "failed" and report.diagnosis is None
    assert "no simple pattern found" in repr(report)


def test_one_number_is_never_a_fitted_factor():
    "A gradient of one entry fits any factor; only a named one (B, 2, −1, …) may be reported"
    x = np.array([0.7])
    assert check_grads(lambda x: np.sin(x).sum(), x, np.cos(x) * 0.37).diagnosis is None
    assert check_grads(lambda x: np.sin(x).sum(), x, -np.cos(x)).diagnosis.names == {"sign flipped"}


def test_slip_variants_cover_every_slip_but_the_tied_one():
    made = {slip for slip, _, _ in slip_variants(3, "softmax_cross_entropy")}
    assert made == set(SLIPS) - {"overwrote a tied weight"}
    assert "softmax without one-hot" not in {slip for slip, _, _ in slip_variants(3, "mse")}


def test_slipped_backprop_without_a_slip_is_backprop(rng):
    params = network([3, 4, 2], rng)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    assert same_numbers(slipped_backprop(X, params, Y, "relu", "sigmoid"),
                        backprop(X, params, Y, "relu", "sigmoid"), np.float64)
