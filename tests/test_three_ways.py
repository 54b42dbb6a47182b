"""Three ways, one answer: per-value loops (sections 1, 2 and 4), vectorised backprop (sections 3 and 4)
and finite differences agree to 1e-10 relative in float64, for the two-layer network of the notes with
non-square shapes (m=3, p=5, n=2), batch sizes 1 and 7, every hidden and output activation, both losses.
"""
import numpy as np
import pytest

from bpnotes.layers import MLP, hidden_layer_grads_per_value, two_layer_grads, two_layer_loss, two_layer_problem
from bpnotes.loss import LOSSES, output_layer_grads_per_value
from bpnotes.single_value import ACTIVATIONS, numeric_grad, rel_error
from bpnotes.vector import dense, output_layer_grads
from conftest import targets

m, p, n = 3, 5, 2


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("psi", list(ACTIVATIONS))
@pytest.mark.parametrize("phi", list(ACTIVATIONS))
def test_three_ways_agree(phi, psi, loss, B, seed):
    rng = np.random.default_rng([seed, B, len(phi), len(psi), len(loss)])
    args, Y = two_layer_problem(B, m, p, n, loss, phi, margin=0.05, seed=rng)   # ReLU's kink out of reach
    vectorised = two_layer_grads(*args, Y, phi, psi, loss)
    H = ACTIVATIONS[phi](dense(*args[:3]))
    per_value = (*hidden_layer_grads_per_value(*args, Y, phi, psi, loss),
                 *output_layer_grads_per_value(H, *args[3:], Y, psi, loss))
    finite = [numeric_grad(lambda _: two_layer_loss(*args, Y, phi, psi, loss), args[i]) for i in range(1, 5)]
    for v, l, f in zip(vectorised, per_value, finite):
        assert v.shape == l.shape == f.shape
    # the gradient is one vector over all parameters; relative errors are measured against its scale
    v, l, f = (np.concatenate([g.ravel() for g in way]) for way in (vectorised, per_value, finite))
    assert rel_error(v, l) <= 1e-10, "vectorised vs per-value"
    assert rel_error(v, f) <= 1e-10, "vectorised vs finite differences"
    assert rel_error(l, f) <= 1e-10, "per-value vs finite differences"


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("phi", list(ACTIVATIONS))
def test_mlp_is_the_derivation(phi, loss):
    "`MLP` on [3, 5, 2] gives the gradients of the section functions, with an identity output activation"
    rng = np.random.default_rng(7)
    net = MLP([m, p, n], activation=phi, loss=loss, seed=3)
    for _, b in net.params:
        b[:] = rng.normal(size=b.shape)
    X, Y = rng.normal(size=(7, m)), targets(rng, loss, 7, n)
    loss_value, grads = net.loss_and_grads(X, Y)
    (W_i, b_i), (W_h, b_h) = net.params
    expected = two_layer_grads(X, W_i, b_i, W_h, b_h, Y, phi, "identity", loss)
    got = [g for layer in grads for g in layer]
    assert max(rel_error(a, b) for a, b in zip(got, expected)) <= 1e-14
    assert loss_value == pytest.approx(two_layer_loss(X, W_i, b_i, W_h, b_h, Y, phi, "identity", loss), rel=1e-14)


def test_output_layer_vectorised_matches_per_value_batch_of_one():
    rng = np.random.default_rng(3)
    H, W_h, b_h = rng.normal(size=(1, p)), rng.normal(size=(p, n)), rng.normal(size=n)
    for loss in LOSSES:
        Y = targets(rng, loss, 1, n)
        for psi in ACTIVATIONS:
            for a, b in zip(output_layer_grads(H, W_h, b_h, Y, psi, loss), output_layer_grads_per_value(H, W_h, b_h, Y, psi, loss)):
                assert rel_error(a, b) <= 1e-14
