"""The reverse-mode engine of the cost page (`bpnotes.reverse`) against section 4's `backprop`, the `MLP` and the
independent autograd oracle; every operation's vector-Jacobian product against finite differences; and the
properties the page relies on: each VJP runs once, constants get no gradient, nodes used twice add up.
"""
from collections import Counter

import numpy as np
import pytest
from autograd import grad
from hypothesis import given, settings

from bpnotes.gradcheck import as_vector, numeric_grad, rel_error
from bpnotes.layers import backprop, network_loss
from bpnotes.reverse import (Node, activate, add, build_loss, exp, log, matmul, multiply, negative,
                             reverse_mode_grads, softplus, sum_over, topological_order)
from bpnotes.single_value import ACTIVATIONS, get_activation
from conftest import PAIRS, examples, random_mlp
from conftest import networks as problems
from test_oracle import oracle_loss


def names(net):
    return net.activation.name, net.output_activation.name, net.loss.name


@settings(max_examples=examples(150), deadline=None)
@given(problems())
def test_engine_matches_backprop(problem):
    "Any depth 1 to 4, widths 1 to 7, batch 1 to 9, every activation and every loss"
    net, X, y = random_mlp(*problem)
    params = [(W.copy(), b.copy()) for W, b in net.params]
    loss, grads = reverse_mode_grads(X, params, y, *names(net))
    assert rel_error(as_vector(grads), as_vector(backprop(X, params, y, *names(net)))) <= 1e-12
    assert rel_error(loss, network_loss(X, params, y, *names(net))) <= 1e-12


@settings(max_examples=examples(60), deadline=None)
@given(problems())
def test_engine_matches_autograd(problem):
    "The same against HIPS autograd differentiating a separately written forward pass"
    net, X, y = random_mlp(*problem)
    params = [(W.copy(), b.copy()) for W, b in net.params]
    loss, grads = reverse_mode_grads(X, params, y, *names(net))
    reference = grad(oracle_loss)(params, X, y, *names(net))
    assert rel_error(as_vector(grads), as_vector(reference)) <= 1e-10
    assert rel_error(loss, oracle_loss(params, X, y, *names(net))) <= 1e-12


@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("output_activation, loss", PAIRS)
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_engine_matches_mlp_on_non_square_shapes(activation, output_activation, loss, B):
    "The notes' shapes (m=3, p=5, n=2) and a deeper non-square network, a single row and a batch"
    for sizes in ([3, 5, 2], [4, 7, 3, 2]):
        net, X, y = random_mlp(sizes, activation, output_activation, loss, B, seed=B)
        loss_net, grads_net = net.loss_and_grads(X, y)
        loss_engine, grads_engine = reverse_mode_grads(X, net.params, y, *names(net))
        assert rel_error(as_vector(grads_engine), as_vector(grads_net)) <= 1e-12
        assert rel_error(loss_engine, loss_net) <= 1e-12


# ---- every operation's VJP against finite differences of Σ G ⊙ op(x) ----

rng = np.random.default_rng(2024)
A34, A14, A4, B42 = rng.normal(size=(3, 4)), rng.normal(size=(1, 4)), rng.normal(size=4), rng.normal(size=(4, 2))
POSITIVE = rng.uniform(0.5, 2.0, size=(3, 4))
AWAY_FROM_ZERO = np.sign(A34) * (np.abs(A34) + 0.1)       # ReLU's kink is at 0

OPERATIONS = {      # name: (operands, the operation on nodes, the same on arrays)
    "add, bias broadcast over rows": ((A34, A4), add, lambda a, b: a + b),
    "add, a (1, 4) row broadcast": ((A34, A14), add, lambda a, b: a + b),
    "multiply, broadcast": ((A34, A4), multiply, lambda a, b: a * b),
    "multiply, same operand shapes": ((A34, POSITIVE), multiply, lambda a, b: a * b),
    "matmul": ((A34, B42), matmul, lambda a, b: a @ b),
    "negative": ((A34,), negative, lambda a: -a),
    "sum_over all": ((A34,), sum_over, np.sum),
    "sum_over axis 0": ((A34,), lambda x: sum_over(x, axis=0), lambda a: a.sum(axis=0)),
    "sum_over axis 1": ((A34,), lambda x: sum_over(x, axis=1), lambda a: a.sum(axis=1)),
    "exp": ((A34,), exp, np.exp),
    "log": ((POSITIVE,), log, np.log),
    "softplus": ((A34 * 5,), softplus, lambda a: np.logaddexp(0, a)),
    **{f"activate {name}": ((AWAY_FROM_ZERO,), lambda x, name=name: activate(x, name),
                            lambda a, name=name: get_activation(name)(a)) for name in ACTIVATIONS},
}


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_every_vjp_matches_finite_differences(name):
    operands, op, plain = OPERATIONS[name]
    nodes = [Node(x.copy()) for x in operands]
    out = op(*nodes)
    G = np.random.default_rng(5).normal(size=out.value.shape)      # a cotangent: L = Σ G ⊙ op(x)
    sum_over(out * G).backward()
    for i, x in enumerate(operands):
        def f(v, i=i):
            args = [v if k == i else operands[k] for k in range(len(operands))]
            return np.sum(G * plain(*args))
        assert nodes[i].grad.shape == x.shape
        assert rel_error(nodes[i].grad, numeric_grad(f, x.copy())) <= 1e-10, (name, i)


# ---- properties the page relies on ----

def test_a_node_used_twice_gets_both_contributions():
    x = Node(np.array([0.5, -2.0, 3.0]))
    sum_over(x * x + x).backward()                   # ∂/∂x (x² + x) = 2x + 1
    assert np.array_equal(x.grad, 2 * x.value + 1)


def test_each_vjp_runs_once_and_constants_get_none():
    net, X, y = random_mlp([3, 5, 4, 2], "tanh", "identity", "softmax_cross_entropy", 7, seed=1)
    leaves = [(Node(W), Node(b)) for W, b in net.params]
    A = X
    for l, (W, b) in enumerate(leaves, start=1):
        A = activate(A @ W + b, "identity" if l == len(leaves) else "tanh")
    L = build_loss(A, y, "softmax_cross_entropy")
    order = topological_order(L)
    assert order[-1] is L and all(order.index(p) < order.index(n) for n in order for p in n.parents)
    assert [n for n in order if not n.parents] == [leaf for pair in leaves for leaf in pair]
    assert not any(n.value is X for n in order)      # the input is a constant: not in the graph at all
    calls = Counter()
    for n in order:
        n.vjps = [lambda G, v=v, n=n: (calls.update([id(n)]), v(G))[1] for v in n.vjps]
    L.backward()
    assert all(calls[id(n)] == len(n.parents) for n in order)


def test_float32_is_kept():
    W = Node(np.ones((3, 2), np.float32))
    sum_over(np.ones((4, 3), np.float32) @ W).backward()
    assert W.grad.dtype == np.float32 and np.array_equal(W.grad, np.full((3, 2), 4, np.float32))


def test_large_logits_give_finite_loss_and_gradients():
    Z = Node(np.array([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4 - 3.0]]))
    L = build_loss(Z, np.array([0, 0, 1]), "softmax_cross_entropy").backward()
    assert np.isfinite(L.value) and np.isfinite(Z.grad).all()
    assert np.isfinite(build_loss(Z, np.full((3, 2), 0.5), "binary_cross_entropy").value)


def test_bad_input_gets_a_clear_error():
    with pytest.raises(ValueError, match=r"backward needs a single number.*\(2,\)"):
        Node(np.ones(2)).backward()
    with pytest.raises(ValueError, match=r"matmul needs matrices.*\(3, 4\) and \(3, 2\)"):
        Node(np.ones((3, 4))) @ np.ones((3, 2))
    with pytest.raises(ValueError, match="output activation must be 'identity'"):
        reverse_mode_grads(np.ones((2, 3)), [(np.ones((3, 2)), np.zeros(2))], np.array([0, 1]),
                           psi="sigmoid", loss="softmax_cross_entropy")
    with pytest.raises(ValueError, match=r"y has shape \(2,\) but mse needs .* \(2, 3\)"):
        build_loss(Node(np.ones((2, 3))), np.ones(2), "mse")
    with pytest.raises(ValueError, match="labels must lie in"):
        build_loss(Node(np.ones((2, 3))), np.array([0, 3]), "softmax_cross_entropy")

