"""`MLP` and section 4's `backprop` against an independent oracle: HIPS autograd differentiating a separately
written forward pass.

Nothing of bpnotes is used on the oracle side: the activations, losses and the network are written again in
`autograd.numpy`, in a different form where there is one (sigmoid through tanh, cross-entropy through
`logsumexp` and a one-hot product, binary cross-entropy through `logaddexp`), and autograd's reverse mode
differentiates them. Errors are relative to the whole gradient vector (`gradcheck.rel_error` of `as_vector`).
"""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.scipy.special import logsumexp
from hypothesis import assume, given, settings

from bpnotes.gradcheck import as_vector, rel_error
from bpnotes.layers import backprop, network_loss
from conftest import PAIRS, examples
from conftest import networks as problems
from conftest import near_a_relu_kink
from conftest import random_mlp as make

ORACLE_ACTIVATIONS = {
    "sigmoid": lambda z: 0.5 * (anp.tanh(0.5 * z) + 1),
    "tanh": anp.tanh,
    "relu": lambda z: anp.where(z > 0, z, 0.0),
    "identity": lambda z: z,
}


def oracle_loss(params, X, y, activation, output_activation, loss):
    "The network and its loss written directly in autograd.numpy"
    A = X
    for i, (W, b) in enumerate(params):
        Z = anp.dot(A, W) + b
        A = ORACLE_ACTIVATIONS[output_activation if i == len(params) - 1 else activation](Z)
    if loss == "mse":
        return anp.sum((A - y) ** 2) / A.size
    if loss == "binary_cross_entropy":                  # −y log σ(z) − (1 − y) log(1 − σ(z))
        return anp.sum(y * anp.logaddexp(0, -A) + (1 - y) * anp.logaddexp(0, A)) / A.size
    onehot = np.eye(A.shape[1])[y]
    return -anp.sum(onehot * (A - logsumexp(A, axis=1, keepdims=True))) / A.shape[0]


def oracle(net, X, y):
    "The oracle's loss and gradients at the network's parameters, in float64"
    params = [(W.astype(np.float64), b.astype(np.float64)) for W, b in net.params]
    names = (net.activation.name, net.output_activation.name, net.loss.name)
    return oracle_loss(params, X, y, *names), grad(oracle_loss)(params, X, y, *names)


def worst_error(net, X, y):
    "Relative error of MLP's loss and of its whole gradient vector against the oracle"
    loss, grads = net.loss_and_grads(X, y)
    ref_loss, ref_grads = oracle(net, X, y)
    return max(rel_error(loss, ref_loss), rel_error(as_vector(grads), as_vector(ref_grads)))


@settings(max_examples=examples(150), deadline=None)
@given(problems())
def test_mlp_matches_autograd_float64(problem):
    assert worst_error(*make(*problem)) <= 1e-10


@settings(max_examples=examples(150), deadline=None)
@given(problems())
def test_backprop_matches_autograd_float64(problem):
    "Section 4's readable recursion, built from the section functions, against the same oracle"
    net, X, y = make(*problem)
    params = [(W.copy(), b.copy()) for W, b in net.params]
    names = (net.activation.name, net.output_activation.name, net.loss.name)
    ref_loss, ref_grads = oracle(net, X, y)
    assert rel_error(as_vector(backprop(X, params, y, *names)), as_vector(ref_grads)) <= 1e-10
    assert rel_error(network_loss(X, params, y, *names), ref_loss) <= 1e-12


@settings(max_examples=examples(40), deadline=None)
@given(problems())
def test_mlp_float32_matches_autograd_to_single_precision(problem):
    net, X, y = make(*problem, dtype=np.float32)
    # at a ReLU pre-activation within rounding of 0, float32 and float64 may take different sides of the kink,
    # and so different slopes (0 or 1): no tolerance could make that agree, so such draws are not compared
    assume(not near_a_relu_kink(net, X))
    assert worst_error(net, X, y) <= 2e-4


@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("output_activation, loss", PAIRS)
@pytest.mark.parametrize("activation", list(ORACLE_ACTIVATIONS))
def test_non_square_shapes_every_activation_and_loss(activation, output_activation, loss, B):
    "The shapes of the notes (m=3, p=5, n=2) and a deeper non-square network, batch 1 and 7"
    for sizes in ([3, 5, 2], [4, 7, 3, 2]):
        assert worst_error(*make(sizes, activation, output_activation, loss, B, seed=B)) <= 1e-10


def test_the_float32_case_that_once_failed_per_array():
    """tanh saturated through width-1 layers: the first layers' gradients are ~1e-3 of the last layer's, so their
    own relative error in float32 is large, but relative to the whole gradient it is float32 rounding"""
    net, X, y = make([1, 1, 1, 1, 6], "tanh", "identity", "mse", 1, 3, dtype=np.float32)
    assert worst_error(net, X, y) <= 2e-4
