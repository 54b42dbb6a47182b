"""The public API of DESIGN.md: shapes, dtypes, the update rule, determinism, reductions, stability, errors."""
import warnings

import numpy as np
import pytest

from bpnotes.gradcheck import as_vector, numeric_grad, rel_error, richardson_difference
from bpnotes.loss import (Loss, binary_cross_entropy, binary_cross_entropy_grad, mse, mse_grad, softmax,
                          softmax_cross_entropy, softmax_cross_entropy_grad)
from bpnotes.mlp import MLP, init_params
from bpnotes.single_value import ACTIVATIONS, Activation, central_difference, get_activation, sigmoid
from conftest import PAIRS, targets


@pytest.mark.parametrize("sizes", [[3, 5, 2], [4, 1], [2, 7, 3, 6, 1]])
def test_params_forward_and_grads_have_the_documented_shapes(sizes, rng):
    net = MLP(sizes)
    assert [(W.shape, b.shape) for W, b in net.params] == [((a, b), (b,)) for a, b in zip(sizes[:-1], sizes[1:])]
    for B in (1, 6):
        X = rng.normal(size=(B, sizes[0]))
        assert net.forward(X).shape == (B, sizes[-1])
        loss, grads = net.loss_and_grads(X, rng.normal(size=(B, sizes[-1])))
        assert type(loss) is float
        assert [(dW.shape, db.shape) for dW, db in grads] == [(W.shape, b.shape) for W, b in net.params]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("psi, loss", PAIRS)
def test_dtype_is_kept_end_to_end(dtype, psi, loss, rng):
    net = MLP([3, 5, 2], output_activation=psi, loss=loss, dtype=dtype)
    X, y = rng.normal(size=(7, 3)), targets(rng, loss, 7, 2)  # float64 inputs are converted, never the network
    assert all(W.dtype == dtype and b.dtype == dtype for W, b in net.params)
    assert net.forward(X).dtype == dtype
    _, grads = net.loss_and_grads(X, y)
    assert all(dW.dtype == dtype and db.dtype == dtype for dW, db in grads)
    net.step(grads, lr=0.1)
    assert all(W.dtype == dtype and b.dtype == dtype for W, b in net.params)


def test_step_is_the_update_rule_in_place(rng):
    net = MLP([3, 5, 2], seed=1)
    arrays = [a for layer in net.params for a in layer]
    before = [a.copy() for a in arrays]
    _, grads = net.loss_and_grads(rng.normal(size=(4, 3)), rng.normal(size=(4, 2)))
    net.step(grads, lr=0.25)
    after = [a for layer in net.params for a in layer]
    assert all(np.shares_memory(x, y) for x, y in zip(arrays, after)), "step must update the parameters in place"
    for held, old, new, g in zip(arrays, before, after, [g for layer in grads for g in layer]):
        np.testing.assert_array_equal(new, old - 0.25 * g)
        np.testing.assert_array_equal(held, new)          # arrays taken from params before the step see it


def test_training_lowers_the_loss(rng):
    X = rng.normal(size=(32, 3))
    y = np.stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]], axis=1)
    net = MLP([3, 16, 2], seed=0)
    first, _ = net.loss_and_grads(X, y)
    for _ in range(100):
        loss, grads = net.loss_and_grads(X, y)
        net.step(grads, lr=0.1)
    assert loss < 0.5 * first


def test_same_seed_same_params_different_seed_different_params():
    a, b, c = MLP([3, 5, 2], seed=4), MLP([3, 5, 2], seed=4), MLP([3, 5, 2], seed=5)
    for (Wa, ba), (Wb, bb) in zip(a.params, b.params):
        np.testing.assert_array_equal(Wa, Wb)
        np.testing.assert_array_equal(ba, bb)
    assert not np.array_equal(a.params[0][0], c.params[0][0])


def test_init_scale_follows_fan_in():
    (W, b), = init_params([400, 300], activation="tanh", seed=0)
    assert W.std() == pytest.approx(1 / np.sqrt(400), rel=0.02) and not b.any()
    (W, _), = init_params([400, 300], activation="relu", seed=0)
    assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)


def test_reductions_match_pytorch_defaults(rng):
    "mse: mean over all B*n entries; cross-entropy: mean over the batch of -log softmax (scikit-learn as referee)"
    from sklearn.metrics import log_loss, mean_squared_error
    O, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    assert mse(O, Y) == pytest.approx(mean_squared_error(Y, O), rel=1e-14)
    z, labels = rng.normal(size=(7, 4)) * 3, rng.integers(0, 4, size=7)
    assert softmax_cross_entropy(z, labels) == pytest.approx(log_loss(labels, softmax(z), labels=range(4)), rel=1e-12)


def test_loss_gradients_have_the_closed_forms(rng):
    O, Y = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    np.testing.assert_allclose(mse_grad(O, Y), 2 * (O - Y) / 21, rtol=1e-15)
    z, labels = rng.normal(size=(7, 4)), rng.integers(0, 4, size=7)
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    p[np.arange(7), labels] -= 1
    np.testing.assert_allclose(softmax_cross_entropy_grad(z, labels), p / 7, rtol=1e-13, atol=1e-17)


def test_extreme_logits_give_finite_exact_losses_and_grads():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
    labels = np.array([1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, g = softmax_cross_entropy(z, labels), softmax_cross_entropy_grad(z, labels)
    assert loss == pytest.approx((2e4 + np.log(2)) / 2, rel=1e-15)
    np.testing.assert_allclose(g, np.array([[1, -1, 0], [0, 0.5, -0.5]]) / 2, atol=1e-15)


def test_sigmoid_is_exact_and_silent_at_large_arguments():
    z = np.array([-1e4, -745.0, -30.0, 0.0, 30.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(z)
    np.testing.assert_allclose(s[2:5], [np.exp(-30) / (1 + np.exp(-30)), 0.5, 1 / (1 + np.exp(-30))], rtol=1e-15)
    assert s[0] == 0.0 and s[-1] == 1.0 and np.isfinite(s).all()


def test_sigmoid_keeps_float32():
    assert sigmoid(np.zeros(3, dtype=np.float32)).dtype == np.float32


def test_relu_derivative_at_zero_is_zero():
    assert get_activation("relu").derivative(np.array([0.0]))[0] == 0.0


def test_differences_restore_the_value_even_when_f_fails():
    x = np.array([0.1, 0.2, 0.3])
    def boom(x):
        raise RuntimeError("f failed")
    for difference in (central_difference, richardson_difference):
        with pytest.raises(RuntimeError):
            difference(boom, x, 1)
        np.testing.assert_array_equal(x, [0.1, 0.2, 0.3])


def test_section_1s_plain_central_difference():
    "Three lines, second order: good to about 1e-9 on a smooth function, and leaves its input alone"
    x = np.array([0.5, -1.0, 2.0])
    estimates = [central_difference(lambda x: (x ** 3).sum(), x, i) for i in range(3)]
    assert rel_error(estimates, 3 * x ** 2) < 1e-8 and list(x) == [0.5, -1.0, 2.0]


def test_central_difference_calls_f_on_copies():
    "Section 1's difference leaves x alone and takes lists and ints; f must read x through its argument"
    x = np.array([1, 2])
    seen = []
    def f(z):
        seen.append(z)
        return (z ** 2).sum()
    assert central_difference(f, x, 1) == pytest.approx(4.0, rel=1e-8) and x.tolist() == [1, 2]
    assert all(z is not x and z.dtype == float for z in seen)
    assert central_difference(lambda z: z[0] ** 2, [3.0], 0) == pytest.approx(6.0, rel=1e-8)


@pytest.mark.parametrize("order", [2, 4, 6])
def test_numeric_grad_of_a_known_function(order):
    x = np.array([[0.5, -1.0, 2.0], [0.1, 0.0, -0.3]])
    eps = {2: 1e-5, 4: 1e-3, 6: 2e-3}[order]
    assert rel_error(numeric_grad(lambda x: (x ** 3).sum(), x, eps, order), 3 * x ** 2) < 1e-9


# ---- bad input: the error names the argument and the shapes, and nothing changes ----

def params_snapshot(net):
    return [a.copy() for layer in net.params for a in layer]


def assert_unchanged(net, snapshot):
    for a, b in zip([a for layer in net.params for a in layer], snapshot):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make, exc, words", [
    (lambda: MLP([3]), ValueError, "at least an input and an output"),
    (lambda: MLP([3, 0, 2]), ValueError, "integer >= 1"),
    (lambda: MLP([3, 2.5, 2]), ValueError, "integer >= 1"),
    (lambda: MLP("3,5,2"), TypeError, "list of layer widths"),
    (lambda: MLP([3, 5, 2], activation="softplus"), ValueError, "'sigmoid', 'tanh', 'relu', 'identity'"),
    (lambda: MLP([3, 5, 2], loss="hinge"), ValueError, "'mse', 'softmax_cross_entropy', 'binary_cross_entropy'"),
    (lambda: MLP([3, 5, 2], dtype=np.float16), TypeError, "float32 or float64"),
    (lambda: MLP([3, 5, 2], dtype=int), TypeError, "float32 or float64"),
])
def test_constructor_errors(make, exc, words):
    with pytest.raises(exc, match=words):
        make()


@pytest.mark.parametrize("loss, X, y, exc, words", [
    ("mse", np.zeros((7, 4)), np.zeros((7, 2)), ValueError, r"X has shape \(7, 4\) but the network's first layer expects 3 features"),
    ("mse", np.zeros(3), np.zeros((1, 2)), ValueError, r"X.reshape\(1, -1\)"),
    ("mse", np.zeros((0, 3)), np.zeros((0, 2)), ValueError, "empty batch"),
    ("mse", np.full((2, 3), np.nan), np.zeros((2, 2)), ValueError, "NaN"),
    ("mse", np.array([["a", "b", "c"]]), np.zeros((1, 2)), TypeError, "real numbers"),
    ("mse", np.zeros((7, 3)), np.zeros((7, 3)), ValueError, r"y has shape \(7, 3\) but mse needs targets of shape \(7, 2\)"),
    ("mse", np.zeros((7, 3)), np.zeros(7), ValueError, r"shape \(7, 2\)"),
    ("softmax_cross_entropy", np.zeros((7, 3)), np.zeros(7) + 0.5, TypeError, "integer class labels"),
    ("softmax_cross_entropy", np.zeros((7, 3)), np.zeros(6, dtype=int), ValueError, r"shape \(7,\)"),
    ("softmax_cross_entropy", np.zeros((2, 3)), np.array([0, 2]), ValueError, r"labels must lie in \[0, 2\)"),
    ("softmax_cross_entropy", np.zeros((2, 3)), np.array([-1, 0]), ValueError, r"labels must lie in \[0, 2\)"),
])
def test_loss_and_grads_errors_name_the_argument_and_change_nothing(loss, X, y, exc, words):
    net = MLP([3, 5, 2], loss=loss)
    snapshot = params_snapshot(net)
    with pytest.raises(exc, match=words):
        net.loss_and_grads(X, y)
    assert_unchanged(net, snapshot)


def test_forward_accepts_lists_and_integers():
    net = MLP([3, 5, 2])
    np.testing.assert_array_equal(net.forward([[1, 2, 3]]), net.forward(np.array([[1.0, 2.0, 3.0]])))


@pytest.mark.parametrize("bad, words", [
    (lambda g: g[:1], r"grads must be a list of 2 \(dW, db\) pairs, one per layer, like loss_and_grads returns; got 1"),
    (lambda g: [(g[0][0].T, g[0][1]), g[1]], r"grads\[0\] must be \(dW, db\) with shapes \(3, 5\) and \(5,\), got shapes \(5, 3\) and \(5,\)"),
    (lambda g: [g[0], (g[1][0] * np.nan, g[1][1])], r"grads\[1\] contains NaN"),
])
def test_step_rejects_bad_grads_before_touching_any_parameter(bad, words, rng):
    net = MLP([3, 5, 2])
    _, grads = net.loss_and_grads(rng.normal(size=(7, 3)), rng.normal(size=(7, 2)))
    snapshot = params_snapshot(net)
    with pytest.raises(ValueError, match=words):
        net.step(bad(grads), lr=0.1)
    assert_unchanged(net, snapshot)


@pytest.mark.parametrize("lr", [0, 0.0, -0.0, np.float32(0), -0.1, np.nan, np.inf, "0.1", True])
def test_step_rejects_bad_learning_rates(lr, rng):
    "lr = 0 is refused whatever its type (issue 17: a float 0.0 must not slip through a fast path)"
    net = MLP([3, 5, 2])
    _, grads = net.loss_and_grads(rng.normal(size=(7, 3)), rng.normal(size=(7, 2)))
    snapshot = params_snapshot(net)
    with pytest.raises(ValueError, match="lr must be a finite number > 0"):
        net.step(grads, lr=lr)
    assert_unchanged(net, snapshot)


def test_activation_lookup():
    assert get_activation("tanh") is ACTIVATIONS["tanh"]
    assert get_activation(ACTIVATIONS["relu"]) is ACTIVATIONS["relu"]
    with pytest.raises(TypeError):
        get_activation(3)


def test_repr_says_what_the_network_is():
    assert repr(MLP([3, 5, 2], activation="relu", dtype=np.float32)) == \
        "MLP([3, 5, 2], activation='relu', loss='mse', dtype=float32)"


def test_out_reuses_the_gradient_arrays_and_gives_the_same_numbers(rng):
    net = MLP([3, 5, 4, 2], loss="softmax_cross_entropy", seed=0)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, size=6)
    loss1, fresh = net.loss_and_grads(X, y)
    copies = [g.copy() for layer in fresh for g in layer]
    loss2, reused = net.loss_and_grads(X, y, out=fresh)
    assert loss1 == loss2 and all(a is b for la, lb in zip(fresh, reused) for a, b in zip(la, lb))
    assert all(np.array_equal(a, b) for a, b in zip(copies, [g for layer in reused for g in layer]))
    with pytest.raises(ValueError, match="out must be the gradients returned by an earlier loss_and_grads"):
        net.loss_and_grads(X, y, out=[(np.zeros((3, 5)), np.zeros(5))])
    with pytest.raises(ValueError, match=r"network of sizes \[3, 5, 4, 2\]"):
        net.loss_and_grads(X, y, out=MLP([3, 2], loss="softmax_cross_entropy").loss_and_grads(X, y)[1])


def test_step_takes_its_own_gradients_and_plain_lists_alike(rng):
    a, b = MLP([3, 5, 2], seed=2), MLP([3, 5, 2], seed=2)
    X, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    _, grads = a.loss_and_grads(X, y)
    a.step(grads, 0.1)
    b.step([(dW.copy(), db.copy()) for dW, db in grads], 0.1)             # plain arrays, not the network's own
    assert all(np.array_equal(p, q) for la, lb in zip(a.params, b.params) for p, q in zip(la, lb))


def test_params_can_be_replaced_whole_but_not_item_by_item():
    net = MLP([3, 5, 2])
    new = [(np.ones((3, 5)), np.zeros(5)), (np.ones((5, 2)), np.arange(2.0))]
    net.params = new
    assert all(np.array_equal(p, q) for lp, lq in zip(net.params, new) for p, q in zip(lp, lq))
    with pytest.raises(ValueError, match="params must be 2"):
        net.params = new[:1]
    with pytest.raises(TypeError, match="assign the whole list"):
        net.params[0] = new[0]


def test_gradients_cannot_be_replaced_item_by_item():
    "They are views of one vector that step reads whole: a replaced pair would be ignored, so it is refused"
    net, X, y = MLP([3, 5, 2], seed=0), np.ones((4, 3)), np.zeros((4, 2))
    _, grads = net.loss_and_grads(X, y)
    with pytest.raises(TypeError, match="change the arrays in place"):
        grads[0] = (np.zeros((3, 5)), np.zeros(5))
    clipped = [(np.zeros_like(dW), np.zeros_like(db)) if l == 0 else (dW, db)
               for l, (dW, db) in enumerate(grads)]       # a list of one's own is honoured
    first = [a.copy() for a in net.params[0]]
    net.step(clipped, 0.1)
    assert all(np.array_equal(a, b) for a, b in zip(net.params[0], first))
    grads[0][0][...] = 0                                  # and so are arrays changed in place
    net.step(grads, 0.1)
    assert np.array_equal(net.params[0][0], first[0]) and not np.array_equal(net.params[0][1], first[1])


def test_forward_returns_fresh_arrays():
    net = MLP([3, 5, 2])
    X = np.ones((2, 3))
    a, b = net.forward(X), net.forward(2 * X)
    assert not np.shares_memory(a, b) and not np.array_equal(a, b)


# ---- the public face: the package's own names, and names that moved ----

def test_the_package_exports_the_names_users_need():
    import bpnotes
    from bpnotes import MLP as M, check_backprop, check_grads, check_mlp, fit
    from bpnotes.diagnosis import check_backprop as in_its_module
    assert M is MLP and callable(check_grads) and callable(check_mlp) and callable(fit)
    assert check_backprop is in_its_module
    assert set(bpnotes.__all__) == {"MLP", "check_backprop", "check_grads", "check_mlp", "fit"}


@pytest.mark.parametrize("old, name, new", [
    ("bpnotes.layers", "MLP", "bpnotes.mlp"),
    ("bpnotes.layers", "two_layer_problem", "bpnotes.gradcheck"),
    ("bpnotes.single_value", "numeric_grad", "bpnotes.gradcheck"),
    ("bpnotes.single_value", "rel_error", "bpnotes.gradcheck"),
    ("bpnotes.single_value", "draw_network", "bpnotes.plotting"),
    ("bpnotes.single_value", "shapes", "bpnotes.checks"),
    ("bpnotes.train", "draw_weights_and_grads", "bpnotes.plotting"),
])
def test_moved_names_still_import_and_say_where_they_went(old, name, new):
    import importlib
    with pytest.warns(DeprecationWarning, match=f"import it from {new}"):
        obj = getattr(importlib.import_module(old), name)
    assert obj is getattr(importlib.import_module(new), name)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        getattr(importlib.import_module(old), "no_such_name")


# ---- output activation and binary cross-entropy (DESIGN.md, Public API) ----

def test_output_activation_is_applied_by_forward_and_in_the_gradients(rng):
    net = MLP([3, 4, 2], output_activation="sigmoid", loss="mse", seed=0)
    X = rng.normal(size=(5, 3))
    (W1, b1), (W2, b2) = net.params
    logits = np.tanh(X @ W1 + b1) @ W2 + b2
    np.testing.assert_allclose(net.forward(X), 1 / (1 + np.exp(-logits)), rtol=1e-14)
    assert "output_activation='sigmoid'" in repr(net)


@pytest.mark.parametrize("loss", ["softmax_cross_entropy", "binary_cross_entropy"])
@pytest.mark.parametrize("psi", ["sigmoid", "tanh", "relu"])
def test_cross_entropy_needs_logits(loss, psi):
    with pytest.raises(ValueError, match=f"{loss} takes logits, so the output activation must be 'identity'"):
        MLP([3, 4, 2], output_activation=psi, loss=loss)


def test_binary_cross_entropy_matches_its_definition_and_is_stable(rng):
    z, y = rng.normal(size=(6, 3)) * 3, rng.uniform(size=(6, 3))
    s = 1 / (1 + np.exp(-z))
    assert binary_cross_entropy(z, y) == pytest.approx(np.mean(-y * np.log(s) - (1 - y) * np.log(1 - s)), rel=1e-13)
    np.testing.assert_allclose(binary_cross_entropy_grad(z, y), (s - y) / 18, rtol=1e-13)
    big = np.array([[1e4, -1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert binary_cross_entropy(big, np.array([[0.0, 1.0]])) == pytest.approx(1e4)
        np.testing.assert_allclose(binary_cross_entropy_grad(big, np.array([[1.0, 0.0]])), [[0.0, 0.0]], atol=1e-300)


def test_binary_cross_entropy_targets_must_lie_between_0_and_1():
    net = MLP([3, 2], loss="binary_cross_entropy")
    with pytest.raises(ValueError, match="binary_cross_entropy needs targets between 0 and 1"):
        net.loss_and_grads(np.zeros((2, 3)), np.array([[0.0, 2.0], [1.0, 0.0]]))


# ---- bugs found by trying the package as a new user would (issue 11) ----

def test_step_refuses_another_networks_gradients_with_as_many_values(rng):
    "[3, 5, 2] and [15, 2] both have 32 values; the gradients of one must not move the other"
    net, other = MLP([3, 5, 2], seed=0), MLP([15, 2], seed=0)
    _, foreign = other.loss_and_grads(rng.normal(size=(4, 15)), rng.normal(size=(4, 2)))
    before = [a.copy() for layer in net.params for a in layer]
    with pytest.raises(ValueError, match="grads must be a list of 2"):
        net.step(foreign, lr=0.1)
    assert all(np.array_equal(a, b) for a, b in zip([a for layer in net.params for a in layer], before))
    with pytest.raises(ValueError, match=r"network of sizes \[3, 5, 2\]"):
        net.loss_and_grads(rng.normal(size=(4, 3)), rng.normal(size=(4, 2)), out=foreign)


def test_gradients_of_a_twin_network_are_accepted(rng):
    "Same sizes and dtype: the gradient arrays fit, so step and out= take them"
    a, b = MLP([3, 5, 2], seed=0), MLP([3, 5, 2], seed=1)
    X, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    _, grads = b.loss_and_grads(X, y)
    expected = [W - 0.1 * dW for (W, _), (dW, _) in zip(a.params, grads)]
    a.step(grads, 0.1)
    assert all(np.array_equal(W, e) for (W, _), e in zip(a.params, expected))
    _, again = a.loss_and_grads(X, y, out=grads)
    assert again is grads


def test_activations_and_losses_of_your_own_are_not_replaced_by_namesakes(rng):
    "An Activation called 'tanh' that is not tanh, and a Loss called 'mse' that is not the mean squared error"
    cube = Activation("tanh", lambda z: z ** 3, lambda a: 3 * np.cbrt(a) ** 2)
    half = Loss("mse", lambda o, y: 0.5 * np.mean((o - y) ** 2), lambda o, y: (o - y) / o.size)
    net = MLP([3, 4, 2], activation=cube, loss=half, seed=0)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    (W1, b1), (W2, b2) = net.params
    out = (X @ W1 + b1) ** 3 @ W2 + b2
    np.testing.assert_allclose(net.forward(X), out, rtol=1e-13)
    loss, grads = net.loss_and_grads(X, y)
    assert loss == pytest.approx(0.5 * np.mean((out - y) ** 2), rel=1e-13)
    from bpnotes.layers import backprop
    from bpnotes.gradcheck import as_vector
    assert rel_error(as_vector(grads), as_vector(backprop(X, list(net.params), y, cube, "identity", half))) < 1e-12


@pytest.mark.parametrize("change", [
    lambda p: p.append((np.ones((2, 2)), np.ones(2))),
    lambda p: p.extend([]),
    lambda p: p.insert(0, None),
    lambda p: p.pop(),
    lambda p: p.clear(),
    lambda p: p.reverse(),
    lambda p: p.__delitem__(0),
    lambda p: p.__setitem__(0, None),
    lambda p: p.__iadd__([]),
])
@pytest.mark.parametrize("views", ["params", "grads"])
def test_params_and_grads_cannot_be_changed_item_by_item(change, views):
    net = MLP([3, 5, 2])
    lists = {"params": lambda: net.params, "grads": lambda: grads}
    grads = net.loss_and_grads(np.ones((2, 3)), np.zeros((2, 2)))[1]
    with pytest.raises(TypeError, match="cannot be changed item by item"):
        change(lists[views]())
    assert len(lists[views]()) == 2


def test_loss_of_and_check_batch(rng):
    net = MLP([3, 5, 2], loss="softmax_cross_entropy", dtype=np.float32)
    X, y = rng.integers(-2, 2, size=(4, 3)), rng.integers(0, 2, size=4)
    Xc, yc = net.check_batch(X, y)
    assert Xc.dtype == np.float32 and yc.dtype == np.intp
    assert net.loss_of(X, y) == pytest.approx(net.loss_and_grads(X, y)[0], rel=1e-6)
    assert len(net.activations(X)) == 3 and net.activations(X)[0].dtype == np.float32


# ---- issue 19: ask the network as scikit-learn would ----

def test_calling_the_network_is_forward(rng):
    net, X = MLP([3, 5, 2], seed=0), rng.normal(size=(4, 3))
    np.testing.assert_array_equal(net(X), net.forward(X))


def test_predict_and_score_for_softmax_cross_entropy_match_scikit_learn(rng):
    from sklearn.metrics import accuracy_score
    net = MLP([3, 6, 4], loss="softmax_cross_entropy", seed=1)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 4, size=40)
    labels = net.predict(X)
    assert labels.shape == (40,) and labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, net.forward(X).argmax(axis=1))
    P = net.predict_proba(X)
    np.testing.assert_allclose(P, softmax(net.forward(X)), rtol=1e-15)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-14)
    assert net.score(X, y) == accuracy_score(y, labels)
    assert MLP([3, 4], loss="softmax_cross_entropy").predict(X[:1]).shape == (1,)          # batch of one


def test_predict_and_score_for_binary_cross_entropy_match_scikit_learn(rng):
    "Labels 1 where the logit is > 0; score is the fraction of rows with every output right (multilabel)"
    from sklearn.metrics import accuracy_score
    net = MLP([3, 6, 2], loss="binary_cross_entropy", seed=1)
    X, Y = rng.normal(size=(40, 3)), rng.integers(0, 2, size=(40, 2)).astype(float)
    logits = net.forward(X)
    np.testing.assert_array_equal(net.predict(X), (logits > 0).astype(int))
    np.testing.assert_allclose(net.predict_proba(X), 1 / (1 + np.exp(-logits)), rtol=1e-14)
    assert net.score(X, Y) == accuracy_score(Y.astype(int), net.predict(X))


@pytest.mark.parametrize("n", [1, 3])
def test_predict_and_score_for_mse_match_scikit_learn(n, rng):
    from sklearn.metrics import r2_score
    net = MLP([3, 6, n], output_activation="tanh", seed=1)
    X, Y = rng.normal(size=(30, 3)), rng.normal(size=(30, n))
    np.testing.assert_array_equal(net.predict(X), net.forward(X))
    assert net.score(X, Y) == pytest.approx(r2_score(Y, net.predict(X)), rel=1e-12)
    assert MLP([3, n], activation="identity", output_activation="identity").score(X, X[:, :n]) != 1.0
    with pytest.raises(AttributeError, match="predict_proba needs a cross-entropy loss"):
        net.predict_proba(X)


def test_r2_of_a_constant_target_and_of_a_single_row_follow_scikit_learn(rng):
    "A constant column scores 1 if matched exactly, else 0; one row has no R² (nan), as in scikit-learn"
    from sklearn.metrics import r2_score
    net = MLP([2, 2], activation="identity", seed=0)
    net.params = [(np.zeros((2, 2)), np.array([1.0, 0.0]))]                   # predicts (1, 0) everywhere
    X = rng.normal(size=(5, 2))
    for Y in (np.c_[np.ones(5), rng.normal(size=5)], np.c_[np.full(5, 2.0), rng.normal(size=5)]):
        assert net.score(X, Y) == pytest.approx(r2_score(Y, net.predict(X)), rel=1e-14)
    assert np.isnan(net.score(X[:1], np.ones((1, 2))))


def test_score_checks_its_targets():
    net = MLP([3, 2], loss="softmax_cross_entropy")
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        net.score(np.zeros((2, 3)), [0, 2])
    with pytest.raises(ValueError, match=r"y has shape \(2,\) but mse needs targets of shape \(2, 2\)"):
        MLP([3, 2]).score(np.zeros((2, 3)), [0.0, 1.0])


# ---- issue 19: momentum and weight decay, from the update rule ----

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_weight_decay_adds_lambda_w_to_the_weights_gradient_only(dtype, rng):
    net = MLP([3, 5, 2], seed=0, dtype=dtype)
    for _, b in net.params:
        b[:] = rng.normal(size=b.shape)
    X, y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    before, (_, grads) = net.snapshot(), net.loss_and_grads(X, y)
    kept = [g.copy() for pair in grads for g in pair]
    net.step(grads, lr=0.1, weight_decay=0.5)
    for (W0, b0), (W, b), (dW, db) in zip(before, net.params, grads):
        np.testing.assert_allclose(W, W0 - dtype(0.1) * (dW + dtype(0.5) * W0), rtol=1e-6 if dtype == np.float32 else 1e-15)
        np.testing.assert_allclose(b, b0 - dtype(0.1) * db, rtol=1e-6 if dtype == np.float32 else 1e-15)  # not decayed
        assert W.dtype == dtype
    assert all(np.array_equal(a, b) for a, b in zip(kept, [g for pair in grads for g in pair]))   # grads untouched


@pytest.mark.parametrize("own_list", [False, True])
def test_momentum_steps_along_the_running_sum_of_gradients(own_list, rng):
    "After T steps, Θ_T = Θ_0 − α Σ_t Σ_{i≤t} β^(t−i) g_i, with the gradients recorded on the way"
    net = MLP([3, 4, 2], seed=1)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    start, g, lr, beta = as_vector(net.params), [], 0.05, 0.8
    for _ in range(5):
        _, grads = net.loss_and_grads(X, y)
        g.append(as_vector(grads))
        net.step([(dW.copy(), db.copy()) for dW, db in grads] if own_list else grads, lr, momentum=beta)
    unrolled = sum(beta ** (t - i) * g[i] for t in range(5) for i in range(t + 1))
    assert rel_error(start - as_vector(net.params), lr * unrolled) < 1e-13
    net.reset_velocity()                                        # from rest again: one plain step
    before, (_, grads) = as_vector(net.params), net.loss_and_grads(X, y)
    net.step(grads, lr, momentum=beta)
    assert rel_error(before - as_vector(net.params), lr * as_vector(grads)) < 1e-13


def test_momentum_with_weight_decay_sums_the_decayed_gradients(rng):
    net = MLP([2, 3, 1], seed=2)
    X, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    v, lr, beta, lam = None, 0.1, 0.9, 0.2
    expected = [a.copy() for pair in net.params for a in pair]
    for _ in range(3):
        _, grads = net.loss_and_grads(X, y)
        g = [d + (lam * p if k % 2 == 0 else 0) for k, (d, p) in enumerate(zip(as_list(grads), expected))]
        v = g if v is None else [beta * a + b for a, b in zip(v, g)]
        expected = [p - lr * a for p, a in zip(expected, v)]
        net.step(grads, lr, momentum=beta, weight_decay=lam)
    assert rel_error(as_vector(net.params), as_vector(expected)) < 1e-14


def as_list(grads):
    return [g for pair in grads for g in pair]


@pytest.mark.parametrize("kwargs, words", [
    (dict(momentum=1.0), r"momentum must be a number in \[0, 1\), got 1.0"),
    (dict(momentum=-0.5), "momentum must be a number in"),
    (dict(momentum="0.9"), "momentum must be a number in"),
    (dict(momentum=np.nan), "momentum must be a number in"),
    (dict(weight_decay=-0.1), "weight_decay must be a finite number >= 0"),
    (dict(weight_decay=np.inf), "weight_decay must be a finite number >= 0"),
    (dict(weight_decay=True), "weight_decay must be a finite number >= 0"),
])
def test_step_rejects_bad_momentum_and_weight_decay_changing_nothing(kwargs, words, rng):
    net = MLP([3, 5, 2])
    _, grads = net.loss_and_grads(rng.normal(size=(7, 3)), rng.normal(size=(7, 2)))
    snapshot = params_snapshot(net)
    with pytest.raises(ValueError, match=words):
        net.step(grads, lr=0.1, **kwargs)
    assert_unchanged(net, snapshot)


def test_step_with_momentum_rejects_bad_grads_changing_nothing(rng):
    net = MLP([3, 5, 2])
    _, grads = net.loss_and_grads(rng.normal(size=(7, 3)), rng.normal(size=(7, 2)))
    snapshot = params_snapshot(net)
    grads[1][0][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        net.step(grads, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"grads\[1\] contains NaN"):
        net.step([(dW.copy(), db.copy()) for dW, db in grads], lr=0.1, weight_decay=0.1)
    assert_unchanged(net, snapshot) and net._velocity is None


@pytest.mark.parametrize("kwargs", [{}, dict(momentum=0.9)])
def test_a_step_that_would_overflow_the_parameters_is_refused_changing_nothing(kwargs, rng):
    "α‖g‖ so large that θ − αg would be inf: a FloatingPointError (fit records a divergence), nothing changed"
    net = MLP([3, 5, 2], seed=0)
    X, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    _, grads = net.loss_and_grads(X, y)
    net.step(grads, 1e-3, **kwargs)                       # a velocity to keep, with momentum
    snapshot, velocity = params_snapshot(net), None if net._velocity is None else net._velocity.copy()
    grads[1][0][...] = 1e3                                # α g = 1.7e311 overflows
    for g in (grads, [(dW.copy(), db.copy()) for dW, db in grads]):
        with pytest.raises(FloatingPointError, match="would overflow the parameters"):
            net.step(g, 1.7e308, **kwargs)
    assert_unchanged(net, snapshot)
    assert (velocity is None and net._velocity is None) or np.array_equal(velocity, net._velocity)


# ---- seeds, a read-only out, predict_proba only where it means something (review R3: B4, S5) ----

@pytest.mark.parametrize("seed, exc", [(-1, ValueError), (1.5, TypeError), ("3", TypeError), (True, TypeError),
                                       ([1, 2], TypeError), (np.float64(2.0), TypeError)])
@pytest.mark.parametrize("make", [lambda seed: MLP([3, 4, 2], seed=seed),
                                  lambda seed: init_params([3, 4, 2], seed=seed)], ids=["MLP", "init_params"])
def test_a_bad_seed_is_refused_by_name(make, seed, exc):
    "R3 B4: seed=-1 gave numpy's 'expected non-negative integer', seed=1.5 'SeedSequence expects int'"
    with pytest.raises(exc, match=r"seed must be an int >= 0, None or a numpy Generator, got"):
        make(seed)


def test_the_seeds_help_documents_are_taken():
    "An int >= 0 repeats the weights; None gives fresh ones; a Generator is drawn from (its state moves on)"
    same = [as_vector(MLP([3, 4, 2], seed=s).params) for s in (7, np.int64(7), 7)]
    assert all(np.array_equal(same[0], v) for v in same)
    assert not np.array_equal(as_vector(MLP([3, 4, 2], seed=None).params), as_vector(MLP([3, 4, 2], seed=None).params))
    gen = np.random.default_rng(7)
    first, second = MLP([3, 4, 2], seed=gen), MLP([3, 4, 2], seed=gen)
    assert np.array_equal(as_vector(first.params), same[0])
    assert not np.array_equal(as_vector(second.params), same[0])
    assert "int | None | np.random.Generator" in MLP.__init__.__doc__


def test_a_read_only_out_is_named_and_changes_nothing(rng):
    "R3 B4: loss_and_grads(out=read-only gradients) gave numpy's 'output array is read-only'"
    net = MLP([3, 4, 2], seed=0)
    X, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    _, grads = net.loss_and_grads(X, y)
    kept = grads.flat.copy()
    grads.flat.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only, but loss_and_grads writes the gradients into it"):
        net.loss_and_grads(2 * X, y, out=grads)
    assert np.array_equal(grads.flat, kept)


@pytest.mark.parametrize("loss", ["mse", "softmax_cross_entropy", "binary_cross_entropy"])
def test_predict_proba_exists_only_for_the_cross_entropies(loss, rng):
    "R3 S5: hasattr(mse_net, 'predict_proba') was True; scikit-learn's regressors have none"
    net = MLP([3, 4, 2], loss=loss, seed=0)
    X = rng.normal(size=(5, 3))
    if loss == "mse":
        assert not hasattr(net, "predict_proba")
        with pytest.raises(AttributeError, match="needs a cross-entropy loss; this network's loss is 'mse'"):
            net.predict_proba(X)
        net.loss = "binary_cross_entropy"                     # it appears with the loss
    P = net.predict_proba(X)
    assert P.shape == (5, 2) and ((0 < P) & (P < 1)).all()
    assert "X : np.ndarray" in MLP.predict_proba.__doc__     # help(MLP.predict_proba) still shows it
