"""`MLP` against an independent oracle: HIPS autograd differentiating a separately written forward pass.

Nothing of bpnotes is used on the oracle side: the activations, losses and the network are written again
in `autograd.numpy`, in a different form where there is one (sigmoid through tanh, cross-entropy through
`logsumexp` and a one-hot product), and autograd's reverse mode differentiates them.
"""
import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from autograd.scipy.special import logsumexp
from hypothesis import given, settings, strategies as st

from bpnotes.layers import MLP
from bpnotes.single_value import rel_error
from conftest import examples, random_biases, targets

ORACLE_ACTIVATIONS = {
    "sigmoid": lambda z: 0.5 * (anp.tanh(0.5 * z) + 1),
    "tanh": anp.tanh,
    "relu": lambda z: anp.where(z > 0, z, 0.0),
    "identity": lambda z: z,
}


def oracle_loss(params, X, y, activation, loss):
    "The network and its loss written directly in autograd.numpy"
    A = X
    for i, (W, b) in enumerate(params):
        Z = anp.dot(A, W) + b
        A = Z if i == len(params) - 1 else ORACLE_ACTIVATIONS[activation](Z)
    if loss == "mse":
        return anp.sum((A - y) ** 2) / A.size
    onehot = np.eye(A.shape[1])[y]
    return -anp.sum(onehot * (A - logsumexp(A, axis=1, keepdims=True))) / A.shape[0]


def worst_error(net, X, y):
    "Largest relative error of `net.loss_and_grads` against the oracle, over the loss and every gradient"
    loss, grads = net.loss_and_grads(X, y)
    ref_params = [(W.astype(np.float64), b.astype(np.float64)) for W, b in net.params]
    ref_loss = oracle_loss(ref_params, X, y, net.activation.name, net.loss.name)
    ref_grads = grad(oracle_loss)(ref_params, X, y, net.activation.name, net.loss.name)
    errs = [rel_error(loss, ref_loss)]
    errs += [rel_error(g, r) for layer, ref in zip(grads, ref_grads) for g, r in zip(layer, ref)]
    return max(errs)


@st.composite
def problems(draw):
    "A network (sizes, activation, loss) and a batch drawn at random: depth 1 to 4, widths 1 to 7, batch 1 to 9"
    sizes = draw(st.lists(st.integers(1, 7), min_size=2, max_size=5))
    activation = draw(st.sampled_from(list(ORACLE_ACTIVATIONS)))
    loss = draw(st.sampled_from(["mse", "softmax_cross_entropy"]))
    B = draw(st.integers(1, 9))
    seed = draw(st.integers(0, 2**32 - 1))
    return sizes, activation, loss, B, seed


def make(sizes, activation, loss, B, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    net = MLP(sizes, activation=activation, loss=loss, seed=seed, dtype=dtype)
    random_biases(net, rng)
    return net, rng.normal(size=(B, sizes[0])), targets(rng, loss, B, sizes[-1])


@settings(max_examples=examples(150), deadline=None)
@given(problems())
def test_mlp_matches_autograd_float64(problem):
    assert worst_error(*make(*problem)) <= 1e-10


@settings(max_examples=examples(40), deadline=None)
@given(problems())
def test_mlp_float32_matches_autograd_to_single_precision(problem):
    net, X, y = make(*problem, dtype=np.float32)
    assert worst_error(net, X, y) <= 2e-4


@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("loss", ["mse", "softmax_cross_entropy"])
@pytest.mark.parametrize("activation", list(ORACLE_ACTIVATIONS))
def test_non_square_shapes_every_activation_and_loss(activation, loss, B):
    "The shapes of the notes (m=3, p=5, n=2) and a deeper non-square network, batch 1 and 7"
    for sizes in ([3, 5, 2], [4, 7, 3, 2]):
        assert worst_error(*make(sizes, activation, loss, B, seed=B)) <= 1e-10
