"""A checker whose "passed" means something (issue 17, part 1): each case below once passed or crashed.

Every test here fails on the checker as it was (run this file against an older `bpnotes` to see it):
a check that judged nothing passed, a step too large for the function passed a wrong gradient,
nonsense tolerances were accepted, and a loss returned as a (1, 1) array crashed the checker."""
import math

import numpy as np
import pytest

from bpnotes.gradcheck import GradientCheckError, check_grads, numeric_grad


def sin1000(W): return np.sum(np.sin(1000 * W))


def test_a_check_that_judged_nothing_does_not_pass():
    W = np.random.default_rng(0).normal(size=(4, 4))
    report = check_grads(sin1000, W, np.cos(1000 * W))        # the factor 1000 is missing
    assert not report.ok                                      # rough at eps and at eps / 8:
    assert report.verdict == "inconclusive" and report.params[0].checked == 0
    with pytest.raises(GradientCheckError, match="inconclusive"):
        report.raise_if_failed()
    advice = " ".join(report.notes)
    assert "step still too large" in advice and f"eps={2e-3 / 64:.2g}" in advice
    # following the advice finds the bug
    retry = check_grads(sin1000, W, np.cos(1000 * W), eps=2e-3 / 64)
    assert retry.verdict == "failed"


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.3])
def test_a_step_too_large_for_the_function_does_not_pass_a_wrong_gradient(eps):
    W = np.random.default_rng(1).normal(size=(4, 4))
    f = lambda W: np.sum(np.tanh(W) ** 2)
    wrong = 2 * np.tanh(W)                                     # the slope 1 − tanh² is missing
    report = check_grads(f, W, wrong, eps=eps)
    assert not report.ok, report
    if report.verdict == "inconclusive":
        assert any("step still too large" in note for note in report.notes), report


def test_every_verdict_on_a_wrong_gradient_is_a_failure_or_inconclusive():
    "Whatever the step, a wrong gradient never passes"
    W = np.random.default_rng(2).normal(size=(3, 4))
    f = lambda W: np.sum(np.tanh(W) ** 2)
    wrong = 2 * np.tanh(W)
    for eps in np.geomspace(1e-6, 0.5, 25):
        assert not check_grads(f, W, wrong, eps=float(eps)).ok, eps


@pytest.mark.parametrize("name, value", [
    ("eps", 0), ("eps", 0.0), ("eps", -1e-3), ("eps", math.nan), ("eps", math.inf),
    ("rtol", -1), ("rtol", math.nan), ("rtol", math.inf),
    ("atol", -1e-9), ("atol", math.nan), ("atol", math.inf),
])
def test_nonsense_steps_and_tolerances_are_refused_by_name(name, value):
    x = np.linspace(-1, 1, 5)
    with pytest.raises(ValueError, match=rf"^{name} must be a finite number"):
        check_grads(lambda x: np.sin(x).sum(), x, np.cos(x), **{name: value})


def test_a_zero_relative_tolerance_is_allowed():
    x = np.linspace(-1, 1, 5)
    assert check_grads(lambda x: np.sin(x).sum(), x, np.cos(x), rtol=0, atol=1e-8).ok


@pytest.mark.parametrize("shape", [(1,), (1, 1), (1, 1, 1)])
def test_a_loss_with_one_entry_of_any_shape_is_accepted(shape):
    rng = np.random.default_rng(3)
    X, w = rng.normal(size=(5, 3)), rng.normal(size=(3, 1))
    f = lambda w: ((X @ w).T @ (X @ w)).reshape(shape)        # (X w)ᵀ(X w): shape (1, 1)
    report = check_grads(f, w, 2 * X.T @ X @ w)
    assert report.ok and report.params[0].checked == 3, report
    assert np.allclose(numeric_grad(f, w), 2 * X.T @ X @ w, rtol=1e-9)


def test_a_loss_with_several_entries_is_refused():
    with pytest.raises(TypeError, match="scalar loss"):
        check_grads(lambda x: x * 2, np.ones(3), np.ones(3))
