"""The fast MLP's own code paths, which the small random networks of the other tests do not reach.

tanh through one exponential (float64 from 1,024 values per layer, float32 from 8,192), the step's update in
slabs (networks above 1 MiB of parameters), the short road of the input checks (finiteness of X read from
Z_1 = X W_1 + b_1, of mse targets from the loss, of the deltas and gradients from one dot product over the
gradient vector, labels by one unsigned maximum), and one workspace per batch size. Each against an independent
computation, and each failure leaving the network as it was (and, for a bad input, the gradient arrays too). (The suite runs with every RuntimeWarning as an error.)
"""
import numpy as np
import pytest

from bpnotes.gradcheck import as_vector, rel_error
from bpnotes.layers import backprop
from bpnotes.mlp import MLP, _EXP_TANH_FROM, _tanh_via_exp
from bpnotes.train import fit
from conftest import random_biases, targets


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_via_exp_is_within_two_units_in_the_last_place_of_one(dtype):
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(size=100_000) * 3, rng.uniform(-1e-6, 1e-6, size=1000),
                        [0.0, -0.0, 1e-30, -1e-30, 20, -20, 400, -400, 1e4, -1e4, np.inf, -np.inf]]).astype(dtype)
    got = z.copy()
    with np.errstate(over="ignore"):
        _tanh_via_exp(got)
    exact = np.tanh(z.astype(np.float64))
    assert got.dtype == dtype
    assert np.abs(got - exact).max() <= 2 * np.finfo(dtype).eps
    assert np.array_equal(got[-4:], [1, -1, 1, -1]) and abs(got).max() <= 1
    nan = np.array([np.nan], dtype)
    _tanh_via_exp(nan)
    assert np.isnan(nan).all()


def big_net(dtype, loss="mse", psi="identity", B=None, widths=(6, 40, 30, 3), seed=0):
    "A network whose hidden layers reach the exponential tanh: B·width values per layer above the threshold"
    B = B or -(-_EXP_TANH_FROM[np.dtype(dtype)] // min(widths[1:-1]))
    rng = np.random.default_rng(seed)
    net = MLP(list(widths), activation="tanh", output_activation=psi, loss=loss, seed=seed, dtype=dtype)
    random_biases(net, rng)
    return net, rng.normal(size=(B, widths[0])), targets(rng, loss, B, widths[-1])


@pytest.mark.parametrize("psi, loss", [("identity", "mse"), ("tanh", "mse"), ("identity", "softmax_cross_entropy"),
                                       ("identity", "binary_cross_entropy")])
def test_exponential_tanh_gradients_match_backprop_float64(psi, loss):
    net, X, y = big_net(np.float64, loss, psi, widths=(6, 40, 30, 50))
    assert all(len(X) * w >= _EXP_TANH_FROM[np.dtype(np.float64)] for w in (40, 30, 50))
    value, grads = net.loss_and_grads(X, y)
    expected = backprop(X, [(W.copy(), b.copy()) for W, b in net.params], y, "tanh", psi, loss)
    assert rel_error(as_vector(grads), as_vector(expected)) <= 1e-12
    assert value == pytest.approx(net.loss_of(X, y), rel=1e-13)


def test_exponential_tanh_float32_matches_float64():
    net32, X, y = big_net(np.float32)
    net64, _, _ = big_net(np.float64, B=len(X))
    net64.params = [(W.astype(np.float64), b.astype(np.float64)) for W, b in net32.params]
    assert len(X) * 30 >= _EXP_TANH_FROM[np.dtype(np.float32)]
    (l32, g32), (l64, g64) = net32.loss_and_grads(X, y), net64.loss_and_grads(X, y)
    assert as_vector(g32).dtype == np.float32
    assert rel_error(as_vector(g32), as_vector(g64)) < 1e-5 and l32 == pytest.approx(l64, rel=1e-5)


@pytest.mark.parametrize("B", [1, 7, 200, 7, 1, 300, 400, 500, 200])
def test_every_batch_size_gets_its_own_workspace(B):
    "Batch sizes in any order, more than are kept: the same numbers as a fresh network's"
    net, X, y = big_net(np.float64, B=500)
    old, _, _ = big_net(np.float64, B=500)
    for b in [1, 7, 200, 300, 400]: net.loss_and_grads(X[:b], y[:b])
    got, fresh = net.loss_and_grads(X[:B], y[:B]), old.loss_and_grads(X[:B], y[:B])
    assert got[0] == fresh[0] and np.array_equal(as_vector(got[1]), as_vector(fresh[1]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_update_in_slabs_is_the_update_rule(dtype):
    "Above 1 MiB of parameters the step works a slab at a time: the same bits as θ − α g"
    net = MLP([300, 900, 2], seed=0, dtype=dtype)
    assert net._flat.nbytes > MLP._CHUNK_BYTES
    rng = np.random.default_rng(1)
    _, grads = net.loss_and_grads(rng.normal(size=(5, 300)), rng.normal(size=(5, 2)))
    expected = [p - np.asarray(0.01, dtype) * g for layer, glayer in zip(net.params, grads) for p, g in zip(layer, glayer)]
    net.step(grads, 0.01)
    assert all(np.array_equal(p, e) for p, e in zip([p for layer in net.params for p in layer], expected))


def snapshot(net, grads=None):
    return [a.copy() for layer in net.params for a in layer] + ([grads.flat.copy()] if grads is not None else [])


def unchanged(net, before, grads=None):
    now = [a for layer in net.params for a in layer] + ([grads.flat] if grads is not None else [])
    return all(np.array_equal(a, b, equal_nan=True) for a, b in zip(now, before))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("zero_row", [False, True])
def test_non_finite_input_is_named_though_only_z1_is_checked(bad, zero_row):
    "A NaN or ±inf in X, even where W_1's row is zero (inf · 0 = NaN): a ValueError naming X, out untouched"
    net, X, y = big_net(np.float64)
    _, grads = net.loss_and_grads(X, y)
    X = X.copy()
    X[3, 2] = bad
    if zero_row: net.params[0][0][2] = 0
    before = snapshot(net, grads)
    with pytest.raises(ValueError, match="X contains NaN or infinite values"):
        net.loss_and_grads(X, y, out=grads)
    assert unchanged(net, before, grads)


def test_huge_finite_input_is_not_mistaken_for_a_bad_one():
    "X·X overflows but X is finite: no error, no warning, and tanh saturates"
    net, X, y = big_net(np.float64)
    value, grads = net.loss_and_grads(X * 1e200, y)
    assert np.isfinite(value) and np.isfinite(as_vector(grads)).all()


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_mse_targets_are_named_and_change_nothing(bad):
    net, X, y = big_net(np.float64)
    _, grads = net.loss_and_grads(X, y)
    y = y.copy()
    y[0, 1] = bad
    before = snapshot(net, grads)
    with pytest.raises(ValueError, match="y contains NaN or infinite values"):
        net.loss_and_grads(X, y, out=grads)
    assert unchanged(net, before, grads)


@pytest.mark.parametrize("label", [-1, 3, np.iinfo(np.intp).min])
def test_labels_out_of_range_are_caught_by_the_short_road(label):
    net, X, y = big_net(np.float64, "softmax_cross_entropy")
    y = y.astype(np.intp)
    y[5] = label
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        net.loss_and_grads(X, y)


def test_step_refuses_its_own_gradients_once_they_hold_nan():
    net, X, y = big_net(np.float64)
    _, grads = net.loss_and_grads(X, y)
    grads[1][0][2, 3] = np.nan
    before = snapshot(net)
    with pytest.raises(ValueError, match="grads contain NaN or infinite values; no parameter was changed"):
        net.step(grads, 0.1)
    assert unchanged(net, before)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_step_takes_huge_finite_gradients_silently(dtype):
    "g·g overflows but every gradient is finite: the step goes ahead, with no warning"
    net = MLP([3, 5, 2], seed=0, dtype=dtype)
    _, grads = net.loss_and_grads(np.ones((4, 3)), np.ones((4, 2)))
    grads.flat[:] = np.finfo(dtype).max / 4
    before = net.params[0][0].copy()
    net.step(grads, 1e-30)
    assert np.isfinite(net.params[0][0]).all() and not np.array_equal(net.params[0][0], before)


def test_diverged_deltas_are_caught_from_the_gradients():
    "A finite loss whose δ_1 overflows: one FloatingPointError, in words, with no warning, parameters unchanged"
    net = MLP([3, 4, 4, 1], activation="relu", seed=0)
    for (W, b), scale in zip(net.params, [1e-305, 1e10, 1e300]):
        W[...], b[...] = scale, 0                 # O ≈ 5e6, δ_2 ≈ 5e306, δ_1 = δ_2 W_2ᵀ = inf
    X, y = np.ones((2, 3)), np.zeros((2, 1))
    assert np.isfinite(net.loss_of(X, y))
    before = snapshot(net)
    with pytest.raises(FloatingPointError, match="overflowed"):
        net.loss_and_grads(X, y)
    assert unchanged(net, before)


def test_an_overflow_in_a_deeper_weight_gradient_is_reported():
    "Loss and δ_1 finite, ∂L/∂W_2 = A_1ᵀ δ_2 infinite: one FloatingPointError, and fit records the divergence"
    def net_with_weights():
        net = MLP([1, 1, 1], activation="relu", seed=0)
        (W1, b1), (W2, b2) = net.params
        W1[...], W2[...], b1[...], b2[...] = 1e250, 1e-150, 0, 0   # A_1 = 1e250, O = 1e100, δ_2 = 2e100
        return net
    net, X, y = net_with_weights(), np.ones((1, 1)), np.zeros((1, 1))
    assert np.isfinite(net.loss_of(X, y))
    before = snapshot(net)
    with pytest.raises(FloatingPointError, match="overflowed"):
        net.loss_and_grads(X, y)
    assert unchanged(net, before)
    history = fit(net_with_weights(), X, y, epochs=3, lr=0.1, batch_size=1)
    assert history["diverged_at"] == 1 and history["loss"] == []
