"""Behaviour no other test pinned down, found by mutation testing (bench/mutation.py, results in bench/MUTATION.md).

Each test here kills mutants that survived the rest of tests/: a small wrong edit of the code that no test
noticed. They test the behaviour the code promises, not the edits themselves.
"""
import numpy as np
import pytest

from bpnotes.loss import get_loss, sgd_update


def test_sgd_update_subtracts_lr_times_the_gradient_in_place(rng):
    theta, grad = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    expected = theta - 0.25 * grad                       # θ ← θ − α ∂L/∂θ, written out here
    out = sgd_update(theta, grad.tolist(), 0.25)         # an array-like gradient is accepted
    assert out is theta
    np.testing.assert_array_equal(theta, expected)


def test_get_loss_refuses_what_is_not_a_name_or_a_loss():
    for wrong in (3, None, ["mse"]):
        with pytest.raises(TypeError, match="loss must be a string or a Loss"):
            get_loss(wrong)


def test_all_finite_on_arrays_large_enough_for_its_dot_product_shortcut(rng):
    from bpnotes.checks import all_finite
    x = rng.normal(size=(300, 300))                      # 90,000 entries: past the shortcut's threshold
    assert all_finite(x)
    assert all_finite(x * 1e200)                         # the dot product overflows: entries decide
    for bad in (np.nan, np.inf, -np.inf):
        y = x.copy()
        y[123, 45] = bad
        assert not all_finite(y)


@pytest.mark.parametrize("shapes", [((2, 4), (1, 4)), ((3, 4), (3, 1)), ((3, 1), (1, 4))],
                         ids=["a row over 2 rows", "a column", "a column and a row"])
@pytest.mark.parametrize("name", ["add", "multiply"])
def test_reverse_broadcast_gradients_sum_back_to_each_operand(name, shapes, rng):
    "numpy broadcasts a size-1 axis; its gradient is summed back along that axis, keeping the operand's shape"
    from bpnotes import reverse
    from bpnotes.gradcheck import numeric_grad, rel_error
    a, b = (rng.normal(size=s) for s in shapes)
    x, y = reverse.Node(a.copy()), reverse.Node(b.copy())
    out = getattr(reverse, name)(x, y)
    G = rng.normal(size=out.value.shape)
    reverse.sum_over(out * G).backward()
    plain = getattr(np, name)
    for node, f, value in ((x, lambda v: np.sum(G * plain(v, b)), a), (y, lambda v: np.sum(G * plain(a, v)), b)):
        assert node.grad.shape == value.shape
        assert rel_error(node.grad, numeric_grad(f, value.copy())) <= 1e-10


def test_reverse_operators_with_a_number_or_an_array_on_the_left(rng):
    from bpnotes.reverse import Node, sum_over
    a, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    x = Node(a.copy())
    L = sum_over(2.0 * (c + x) + 3.0 * (1.0 - x) + c * x).backward()
    np.testing.assert_allclose(L.value, np.sum(2 * (c + a) + 3 * (1 - a) + c * a), rtol=1e-14)
    np.testing.assert_allclose(x.grad, 2 - 3 + c, rtol=1e-14)     # ∂/∂x of 2(c + x) + 3(1 − x) + c x


def test_reverse_matmul_refuses_vectors_and_a_node_has_a_short_repr():
    from bpnotes.reverse import Node, matmul
    for a, b in ((np.ones(3), np.ones((3, 2))), (np.ones((2, 3)), np.ones(3))):
        with pytest.raises(ValueError, match="matmul needs matrices"):
            matmul(Node(a), Node(b))
    assert repr(Node(np.ones((2, 3)))) == "Node(shape=(2, 3), parents=0)"


def test_a_moved_name_warns_at_the_line_that_uses_it():
    "The DeprecationWarning points at the caller's line, where the import is to be changed"
    import bpnotes.single_value
    with pytest.warns(DeprecationWarning) as caught:
        bpnotes.single_value.shapes
    assert caught[0].filename == __file__


def _least_squares(B=9, m=4, n=3, seed=0):
    "A loss of one weight matrix and its gradient, written here: mean((XW − Y)²) and 2Xᵀ(XW − Y)/(Bn)"
    rng = np.random.default_rng(seed)
    X, Y, W = rng.normal(size=(B, m)), rng.normal(size=(B, n)), rng.normal(size=(m, n))
    return (lambda W: np.mean((X @ W - Y) ** 2)), W, 2 * X.T @ (X @ W - Y) / Y.size


def test_the_gradient_of_one_array_may_come_as_a_list_of_one():
    "Mutation gradcheck:_check_structure+14 (both forms): [g] for an array params is that array's gradient"
    from bpnotes.gradcheck import check_grads
    f, W, g = _least_squares()
    assert check_grads(f, W, [g]).verdict == "passed"
    assert check_grads(f, W, [3 * g]).verdict == "failed"


def test_one_array_for_two_parameters_is_refused():
    "Mutation gradcheck:_check_structure+14: a bare array cannot be the gradients of a list of two"
    from bpnotes.gradcheck import check_grads
    f, W, g = _least_squares()
    b = np.zeros(W.shape[1])
    with pytest.raises(ValueError, match="grads must match params"):
        check_grads(lambda W, b: f(W) + b.sum(), [W, b], g)


def test_half_the_rows_off_is_still_rows_off():
    "Mutation gradcheck:_lines_off+6: 'at most half the rows' includes exactly half"
    from bpnotes.gradcheck import check_grads
    f, W, g = _least_squares()
    wrong = g.copy()
    wrong[[0, 2]] *= 3                       # 2 of the 4 rows
    diagnosis = str(check_grads(f, W, wrong).diagnosis)
    assert "rows off" in diagnosis and "rows 0, 2" in diagnosis
