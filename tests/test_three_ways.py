"""Three ways, one answer, and the fast MLP against the readable backprop.

Per-value loops (sections 1, 2 and 4), vectorised backprop (sections 3 and 4) and finite differences agree to
1e-10 relative in float64, for the two-layer network of the notes with non-square shapes (m=3, p=5, n=2), batch
sizes 1 and 7, every hidden activation with every output activation and loss that go together. `MLP` agrees
with section 4's `backprop` to 1e-12 on random networks of depth 1 to 4, in float64 and float32. Relative errors
are measured over the whole gradient vector, the one measure used everywhere (`gradcheck.rel_error`).
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings

from bpnotes.gradcheck import as_vector, rel_error, three_ways
from bpnotes.layers import backprop, two_layer_grads, two_layer_loss
from bpnotes.loss import output_layer_grads_per_value
from bpnotes.mlp import MLP
from bpnotes.single_value import ACTIVATIONS
from bpnotes.vector import output_layer_grads
from conftest import PAIRS, examples, near_a_relu_kink, networks, random_biases, random_mlp, targets

m, p, n = 3, 5, 2


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("psi, loss", PAIRS)
@pytest.mark.parametrize("phi", list(ACTIVATIONS))
def test_three_ways_agree(phi, psi, loss, B, seed):
    rng = np.random.default_rng([seed, B, len(phi), len(psi), len(loss)])
    agreement = three_ways(B, phi, psi, loss, m, p, n, seed=rng)   # ReLU's kinks kept out of reach
    assert agreement.per_value_vs_vectorised <= 1e-13
    assert agreement.vectorised_vs_numeric <= 1e-10
    assert agreement.per_value_vs_numeric <= 1e-10


def test_three_ways_detects_a_wrong_formula(monkeypatch):
    "The agreement is a check that can fail: a slope off by 1 % in the vectorised form is caught"
    import bpnotes.gradcheck as gradcheck
    right = gradcheck.two_layer_grads
    monkeypatch.setattr(gradcheck, "two_layer_grads", lambda *a: [1.01 * g for g in right(*a)])
    agreement = three_ways(7, "tanh", "identity", "mse", seed=0)
    assert agreement.per_value_vs_vectorised > 1e-3 and agreement.vectorised_vs_numeric > 1e-3
    assert agreement.per_value_vs_numeric <= 1e-10


def mlp_and_backprop(sizes, phi, psi, loss, B, seed, dtype):
    net, X, y = random_mlp(sizes, phi, psi, loss, B, seed, dtype)
    X, y = net.check_batch(X, y)                   # in the network's dtype, for backprop too
    loss_value, grads = net.loss_and_grads(X, y)
    expected = backprop(X, [(W.copy(), b.copy()) for W, b in net.params], y, phi, psi, loss)
    return grads, expected


@settings(max_examples=examples(120), deadline=None)
@given(networks())
def test_mlp_matches_backprop_float64(network):
    grads, expected = mlp_and_backprop(*network, np.float64)
    assert rel_error(as_vector(grads), as_vector(expected)) <= 1e-12


@settings(max_examples=examples(60), deadline=None)
@given(networks())
def test_mlp_matches_backprop_float32(network):
    "Both in float32 end to end; they differ only in the order of the sums, so by float32 rounding"
    net, X, _ = random_mlp(*network, np.float32)
    assume(not near_a_relu_kink(net, X))      # rounding could put a ReLU on either side of its kink
    grads, expected = mlp_and_backprop(*network, np.float32)
    assert as_vector(grads).dtype == as_vector(expected).dtype == np.float32
    assert rel_error(as_vector(grads), as_vector(expected)) <= 1e-4


@pytest.mark.parametrize("psi, loss", PAIRS)
@pytest.mark.parametrize("phi", list(ACTIVATIONS))
def test_mlp_is_the_derivation(phi, psi, loss):
    "`MLP` on [3, 5, 2] gives the gradients and the loss of the section functions"
    rng = np.random.default_rng(7)
    net = MLP([m, p, n], activation=phi, output_activation=psi, loss=loss, seed=3)
    random_biases(net, rng, scale=1.0)
    X, Y = rng.normal(size=(7, m)), targets(rng, loss, 7, n)
    loss_value, grads = net.loss_and_grads(X, Y)
    (W_i, b_i), (W_h, b_h) = net.params
    expected = two_layer_grads(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)
    assert rel_error(as_vector(grads), as_vector(expected)) <= 1e-14
    assert loss_value == pytest.approx(two_layer_loss(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss), rel=1e-14)


@pytest.mark.parametrize("psi, loss", PAIRS)
def test_output_layer_vectorised_matches_per_value_batch_of_one(psi, loss):
    rng = np.random.default_rng(3)
    H, W_h, b_h = rng.normal(size=(1, p)), rng.normal(size=(p, n)), rng.normal(size=n)
    Y = targets(rng, loss, 1, n)
    vectorised = output_layer_grads(H, W_h, b_h, Y, psi, loss)
    per_value = output_layer_grads_per_value(H, W_h, b_h, Y, psi, loss)
    assert rel_error(as_vector(vectorised), as_vector(per_value)) <= 1e-14
