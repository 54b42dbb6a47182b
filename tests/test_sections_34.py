"""Sections 3 and 4's functions for the notes' network against an independent oracle: HIPS autograd differentiating
the forward pass written separately in `tests/test_oracle.py` (`oracle_loss`), nothing of bpnotes on its side.

`output_layer_grads` (section 3) is the output layer alone, a one-layer network whose input is H; `two_layer_grads`
(section 4) is the whole notes' network. Every hidden activation, every output activation and loss that go together,
a batch of 7 rows and a single row, and no square weight matrix (m = 3, p = 5, n = 2). The pages' three-way checks
use finite differences, which share the forward pass with the formulas; these share nothing."""
import numpy as np
import pytest
from autograd import grad

from bpnotes.gradcheck import as_vector, rel_error
from bpnotes.layers import two_layer_grads, two_layer_loss
from bpnotes.vector import output_layer_grads
from conftest import PAIRS, targets
from test_oracle import oracle_loss

M, P, N = 3, 5, 2
ACTIVATIONS = ["sigmoid", "tanh", "relu", "identity"]


def problem(B, loss, seed):
    "X (B, m), the notes' four parameter arrays with random biases, and targets Y for `loss`"
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(B, M))
    params = [rng.normal(size=(M, P)) / np.sqrt(M), rng.normal(size=P) / 2,
              rng.normal(size=(P, N)) / np.sqrt(P), rng.normal(size=N) / 2]
    return X, params, targets(rng, loss, B, N)


@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("psi, loss", PAIRS)
def test_output_layer_grads_match_autograd(psi, loss, B):
    _, (_, _, W_h, b_h), Y = problem(B, loss, seed=B)
    H = np.tanh(np.random.default_rng(B + 1).normal(size=(B, P)))
    ref = grad(oracle_loss)([(W_h, b_h)], H, Y, "identity", psi, loss)   # one layer: ψ only
    mine = output_layer_grads(H, W_h, b_h, Y, psi, loss)
    assert rel_error(as_vector(mine), as_vector(ref)) <= 1e-12


@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("psi, loss", PAIRS)
@pytest.mark.parametrize("phi", ACTIVATIONS)
def test_two_layer_grads_match_autograd(phi, psi, loss, B):
    X, (W_i, b_i, W_h, b_h), Y = problem(B, loss, seed=B)
    ref = grad(oracle_loss)([(W_i, b_i), (W_h, b_h)], X, Y, phi, psi, loss)
    mine = two_layer_grads(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)
    assert rel_error(as_vector(mine), as_vector(ref)) <= 1e-12
    ref_loss = oracle_loss([(W_i, b_i), (W_h, b_h)], X, Y, phi, psi, loss)
    assert rel_error(two_layer_loss(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss), ref_loss) <= 1e-12
