"""Bad input gets a ValueError/TypeError that names the argument and says what was expected; extreme values
give correct finite numbers without warnings; dtypes are kept; nothing changes when a call fails; same seed,
same bits. (The suite runs with every RuntimeWarning as an error, see pyproject.toml.)"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from bpnotes.gradcheck import rel_error, richardson_difference
from bpnotes.layers import hidden_delta, two_layer_grads
from bpnotes.loss import get_loss, mse, one_hot, sgd_update, softmax_cross_entropy, softmax_cross_entropy_grad
from bpnotes.mlp import MLP
from bpnotes.vector import dense, output_layer_grads, weight_grad
from conftest import examples

Z73, W35, B5, W52, B2 = np.zeros((7, 3)), np.zeros((3, 5)), np.zeros(5), np.zeros((5, 2)), np.zeros(2)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: dense(Z73, np.zeros((4, 5)), B5), ValueError, r"dense: W has shape \(4, 5\) but A has fan_in = 3"),
    (lambda: dense(Z73, W35, np.zeros(3)), ValueError, r"dense: b has shape \(3,\) but W has fan_out = 5"),
    (lambda: dense(np.zeros(3), W35, B5), ValueError, r"A must be 2-D with shape \(B, fan_in\), got shape \(3,\)"),
    (lambda: dense([[1, 2], [3]], W35, B5), ValueError, "A must be a rectangular array of numbers"),
    (lambda: dense(Z73.astype(np.float16), W35, B5), TypeError, "A is float16"),
    (lambda: dense(Z73.astype(complex), W35, B5), TypeError, "A must hold real numbers, got dtype complex128"),
    (lambda: dense([["a", "b", "c"]], W35, B5), TypeError, "A must hold real numbers"),
    (lambda: dense(np.full((7, 3), np.inf), W35, B5), ValueError, "A contains NaN or infinite values"),
    (lambda: weight_grad(Z73, np.zeros((6, 5))), ValueError, r"delta has shape \(6, 5\) but A has B = 7"),
    (lambda: hidden_delta(np.zeros((7, 2)), W35, np.zeros((7, 3))), ValueError, r"W has shape \(3, 5\) but delta has fan_out = 2"),
    (lambda: mse(np.zeros((7, 2)), np.zeros((7, 3))), ValueError, r"mse: y has shape \(7, 3\) but o has n = 2"),
    (lambda: mse(np.zeros((7, 2)), None), TypeError, "y must hold real numbers"),
    (lambda: softmax_cross_entropy(np.zeros((3, 2)), [0, 1, 2]), ValueError, r"labels must lie in \[0, 2\)"),
    (lambda: softmax_cross_entropy(np.zeros((3, 2)), [0.0, 1.0, 1.0]), TypeError, "integer class labels"),
    (lambda: softmax_cross_entropy_grad(np.zeros((3, 2)), [0, 1]), ValueError, r"y must have shape \(3,\)"),
    (lambda: softmax_cross_entropy(np.full((3, 2), np.nan), [0, 1, 1]), ValueError, "z contains NaN"),
    (lambda: one_hot([0, 3], 3), ValueError, r"labels must lie in \[0, 3\)"),
    (lambda: output_layer_grads(np.zeros((7, 5)), W52.T, B2, np.zeros((7, 2))), ValueError, r"W_h has shape \(2, 5\) but H has p = 5"),
    (lambda: two_layer_grads(Z73, W35, B5, np.zeros((4, 2)), B2, np.zeros((7, 2))), ValueError, r"W_h has shape \(4, 2\) but W_i has p = 5"),
    (lambda: sgd_update([1.0, 2.0], np.ones(2), 0.1), TypeError, "theta must be a float numpy array"),
    (lambda: sgd_update(np.ones(2), np.ones(3), 0.1), ValueError, r"grad has shape \(3,\) but theta has shape \(2,\)"),
    (lambda: richardson_difference(lambda x: 0.0, [1.0, 2.0], 0), TypeError, "x must be a float32 or float64 numpy array"),
    (lambda: richardson_difference(lambda x: 0.0, np.ones(2, dtype=np.float32), 0, eps=1e-12), ValueError,
     "too small for float32"),
    (lambda: richardson_difference(lambda x: 0.0, np.ones(2), 0, order=3), ValueError, "order must be 2, 4 or 6"),
    (lambda: get_loss("hinge"), ValueError, "'mse', 'softmax_cross_entropy', 'binary_cross_entropy'"),
    (lambda: get_loss("softmax_cross_entropy", psi="tanh"), ValueError, "takes logits"),
    (lambda: sgd_update(np.ones(2), np.ones(2), -1.0), ValueError, "lr must be a finite number > 0"),
    (lambda: rel_error(np.ones(2), np.ones(3)), ValueError, "equal shapes"),
])
def test_section_functions_explain_bad_input(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_section_functions_accept_array_likes():
    out = dense([[1, 2, 3]], [[1, 0], [0, 1], [1, 1]], (0.5, 0.5))
    np.testing.assert_array_equal(out, [[4.5, 5.5]])
    assert out.dtype == np.float64
    assert mse([[1, 2]], [[1, 4]]) == 2.0


def test_integer_X_is_converted_once_to_the_network_dtype(rng):
    for dtype in (np.float32, np.float64):
        net = MLP([3, 4, 2], dtype=dtype)
        X = rng.integers(-3, 3, size=(5, 3))
        assert net.forward(X).dtype == dtype
        np.testing.assert_array_equal(net.forward(X), net.forward(X.astype(dtype)))


def test_float16_is_rejected_with_a_reason():
    with pytest.raises(TypeError, match="float32 or float64"):
        MLP([3, 4, 2], dtype=np.float16)
    with pytest.raises(TypeError, match="X is float16"):
        MLP([3, 4, 2]).forward(np.zeros((2, 3), dtype=np.float16))


def test_float32_loss_is_computed_in_float32(rng):
    net = MLP([3, 4, 2], dtype=np.float32)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    assert net.loss.fn(net.forward(X), y.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "identity"])
def test_logits_of_ten_thousand_give_finite_exact_gradients(activation, rng):
    "Weights scaled up until the logits reach ±1e4: finite loss and gradients, no warnings, the exact limit"
    net = MLP([3, 4, 3], activation=activation, loss="softmax_cross_entropy", seed=1)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 3, size=6)
    W, b = net.params[-1]
    W *= 1e4 / np.abs(net.forward(X)).max()
    logits = net.forward(X)
    assert np.abs(logits).max() == pytest.approx(1e4)
    loss, grads = net.loss_and_grads(X, y)
    assert np.isfinite(loss) and all(np.isfinite(g).all() for layer in grads for g in layer)
    lse = np.logaddexp.reduce(logits, axis=1)               # an independent stable log-sum-exp
    assert loss == pytest.approx(np.mean(lse - logits[np.arange(6), y]), rel=1e-12)
    delta = (np.exp(logits - lse[:, None]) - np.eye(3)[y]) / 6
    A = net.activations(X)[-2]
    np.testing.assert_allclose(grads[-1][0], A.T @ delta, rtol=1e-10, atol=1e-12)


def test_sigmoid_network_at_huge_preactivations_is_silent(rng):
    net = MLP([3, 4, 2], activation="sigmoid", seed=0)
    net.params[0][0][:] *= 1e4
    loss, grads = net.loss_and_grads(rng.normal(size=(5, 3)), rng.normal(size=(5, 2)))
    assert np.isfinite(loss) and all(np.isfinite(g).all() for layer in grads for g in layer)


def test_same_seed_same_bits_through_training(rng):
    X, y = rng.normal(size=(16, 3)), rng.integers(0, 2, size=16)
    def history(seed):
        net, losses = MLP([3, 8, 2], loss="softmax_cross_entropy", seed=seed), []
        for _ in range(20):
            loss, grads = net.loss_and_grads(X, y)
            net.step(grads, lr=0.3)
            losses.append(loss)
        return losses, [a.copy() for layer in net.params for a in layer]
    (l1, p1), (l2, p2), (l3, _) = history(0), history(0), history(1)
    assert l1 == l2 and all(np.array_equal(a, b) for a, b in zip(p1, p2))
    assert l1 != l3


# ---- random malformed input: only clean exceptions, and the network untouched ----

garbage = st.one_of(
    st.sampled_from([np.int8, np.int64, np.float16, np.float32, np.float64, np.bool_, np.complex128]).flatmap(
        lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))),
    st.none(), st.text(max_size=3), st.integers(), st.floats(),
    st.lists(st.floats(allow_nan=True), max_size=4),
    st.lists(st.lists(st.floats(-10, 10), max_size=4), max_size=4),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)


def snapshot(net):
    return [a.copy() for layer in net.params for a in layer]


def unchanged(net, before):
    return all(np.array_equal(a, b) for a, b in zip([a for layer in net.params for a in layer], before))


@settings(max_examples=examples(300), deadline=None)
@given(loss=st.sampled_from(["mse", "softmax_cross_entropy", "binary_cross_entropy"]), X=garbage, y=garbage,
       grads=garbage, lr=garbage)
def test_malformed_input_gets_a_clean_exception_and_changes_nothing(loss, X, y, grads, lr):
    "Never an IndexError, AttributeError or numpy warning from inside; never a changed parameter"
    net = MLP([3, 4, 2], loss=loss, seed=0)
    before = snapshot(net)
    for call in (lambda: net.forward(X), lambda: net.loss_and_grads(X, y), lambda: net.step(grads, lr)):
        try:
            call()
        except (ValueError, TypeError, FloatingPointError):   # the last: inputs so large the arithmetic overflows
            pass
        assert unchanged(net, before)


def test_overflow_is_reported_in_words_not_warnings(rng):
    "Diverged parameters: one FloatingPointError that says what happened, no numpy warnings, nothing changed"
    net = MLP([3, 4, 2], activation="relu", seed=0)
    for W, b in net.params:
        W *= 1e200
    before = snapshot(net)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    with pytest.raises(FloatingPointError, match="learning rate is too high"):
        net.loss_and_grads(X, y)
    with pytest.raises(FloatingPointError, match="overflowed"):
        net.forward(X)
    assert unchanged(net, before)
