"""`bpnotes.train`: data, the training loop (loss goes down, same seed same history), divergence, bad arguments."""
import sys

import numpy as np
import pytest

from bpnotes.mlp import MLP
from bpnotes.train import accuracy, digits, evaluate, fit, predict, spiral, standardize, train_test_split, xor


def test_data_shapes_and_labels():
    X, y = spiral(n_per_class=50, classes=4, seed=1)
    assert X.shape == (200, 2) and np.bincount(y).tolist() == [50] * 4
    X, y = xor(n=64, seed=2)
    assert X.shape == (64, 2) and set(y) == {0, 1}
    X, y = digits()
    assert X.shape == (1797, 64) and y.min() == 0 and y.max() == 9


def test_digits_without_scikit_learn_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)   # as if scikit-learn were not installed
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        digits()


def test_split_and_standardize():
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_fraction=0.25, seed=3)
    assert len(X_te) == 5 and sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(20))
    np.testing.assert_array_equal(X_tr[:, 0] / 2, y_tr)              # rows stay with their labels
    Z_tr, Z_te = standardize(X_tr, X_te)
    np.testing.assert_allclose(Z_tr.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Z_tr.std(0), 1)
    Z, = standardize(np.ones((4, 2)))                                  # constant columns stay finite
    assert np.isfinite(Z).all()


def test_fit_lowers_the_loss_and_records_every_epoch():
    X, y = spiral(seed=0)
    net = MLP([2, 64, 64, 3], loss="softmax_cross_entropy", seed=0)
    history = fit(net, X, y, epochs=40, lr=0.5, batch_size=32, seed=0, X_val=X[:50], y_val=y[:50])
    assert len(history["loss"]) == len(history["accuracy"]) == len(history["val_loss"]) == 40
    assert history["loss"][-1] < 0.5 * history["loss"][0] and history["diverged_at"] is None
    assert history["accuracy"][-1] == pytest.approx(accuracy(net, X, y))
    assert history["loss"][-1] == pytest.approx(evaluate(net, X, y)[0])


def test_same_seed_same_history_bit_for_bit_and_seeds_matter():
    X, y = xor(seed=0)
    def run(seed):
        net = MLP([2, 6, 2], loss="softmax_cross_entropy", seed=0)
        return fit(net, X, y, epochs=5, lr=0.3, batch_size=16, seed=seed), net
    (h1, n1), (h2, n2), (h3, _) = run(0), run(0), run(1)
    assert h1 == h2 and all(np.array_equal(a, b) for l1, l2 in zip(n1.params, n2.params) for a, b in zip(l1, l2))
    assert h1["loss"] != h3["loss"]


def test_batch_of_one_and_last_short_batch():
    X, y = xor(n=10, seed=0)
    history = fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), X, y, epochs=2, lr=0.1, batch_size=1)
    assert len(history["loss"]) == 2
    history = fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), X, y, epochs=2, lr=0.1, batch_size=7)   # 7 + 3
    assert len(history["loss"]) == 2


def test_divergence_is_recorded_without_warnings_or_nans():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(200, 1))
    y = np.sin(2 * X)
    history = fit(MLP([1, 32, 1], loss="mse", seed=0), X, y, epochs=60, lr=1.0, batch_size=20)
    assert history["diverged_at"] is not None and np.isfinite(history["loss"]).all()


def test_predict_and_accuracy_for_single_output_networks():
    net = MLP([2, 1], activation="identity", loss="mse", seed=0)
    net.params[0][0][:] = [[1.0], [0.0]]
    X = np.array([[1.0, 0.0], [0.0, 5.0], [2.0, 1.0]])
    np.testing.assert_array_equal(predict(net, X), [1, 0, 1])
    assert accuracy(net, X, np.array([[1.0], [0.0], [0.0]])) == pytest.approx(2 / 3)


@pytest.mark.parametrize("kwargs, words", [
    (dict(epochs=0, lr=0.1, batch_size=8), "epochs must be a whole number >= 1"),
    (dict(epochs=2.5, lr=0.1, batch_size=8), "epochs must be a whole number >= 1"),
    (dict(epochs=1, lr=0.0, batch_size=8), "lr must be a finite number > 0"),
    (dict(epochs=1, lr=float("nan"), batch_size=8), "lr must be a finite number > 0"),
    (dict(epochs=1, lr=0.1, batch_size=0), "batch_size must be a whole number >= 1"),
    (dict(epochs=1, lr=0.1, batch_size=8, X_val=np.zeros((2, 2))), "give both X_val and y_val"),
])
def test_fit_rejects_bad_arguments_before_training(kwargs, words):
    X, y = xor(n=16)
    net = MLP([2, 3, 2], loss="softmax_cross_entropy")
    before = [a.copy() for layer in net.params for a in layer]
    with pytest.raises(ValueError, match=words):
        fit(net, X, y, **kwargs)
    assert all(np.array_equal(a, b) for a, b in zip([a for layer in net.params for a in layer], before))


def test_fit_checks_the_data_against_the_network():
    with pytest.raises(ValueError, match="first layer expects 2 features"):
        fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), np.zeros((4, 3)), np.zeros(4, dtype=int), epochs=1, lr=0.1, batch_size=2)


def test_progress_is_plain_lines_when_not_a_terminal(capsys):
    "Captured output is not a TTY: one line per epoch on stderr, nothing on stdout"
    X, y = xor(n=32, seed=0)
    fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), X, y, epochs=3, lr=0.1, batch_size=8, progress=True)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 3 and lines[-1].startswith("epoch 3/3  loss")


def test_progress_is_a_tqdm_bar_on_a_terminal(monkeypatch):
    "On a terminal the progress is tqdm's bar, which ends at the number of epochs"
    import io
    import bpnotes.train as train
    class Terminal(io.StringIO):
        def isatty(self): return True
    stream = Terminal()
    monkeypatch.setattr(train.sys, "stderr", stream)
    X, y = xor(n=32, seed=0)
    fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), X, y, epochs=4, lr=0.1, batch_size=8, progress=True)
    text = stream.getvalue()
    assert "4/4" in text and "epoch" in text and "\r" in text          # a bar redrawn in place


def test_progress_stops_with_a_diverging_run(capsys):
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(200, 1))
    history = fit(MLP([1, 32, 1], loss="mse", seed=0), X, np.sin(2 * X), epochs=60, lr=1.0, batch_size=20,
                  progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert history["diverged_at"] and len(lines) == history["diverged_at"] - 1


def test_evaluate_reports_overflow_in_words():
    net = MLP([2, 3, 1], loss="mse", seed=0)
    for W, _ in net.params:
        W *= 1e200
    with pytest.raises(FloatingPointError, match="learning rate is too high"):
        evaluate(net, np.ones((2, 2)), np.ones((2, 1)))


def test_binary_cross_entropy_network_learns_xor_and_predicts_from_logits():
    X, y = xor(n=200, seed=0)
    net = MLP([2, 8, 1], loss="binary_cross_entropy", seed=0)
    fit(net, X, y[:, None].astype(float), epochs=100, lr=0.5, batch_size=16)
    assert accuracy(net, X, y) > 0.9
