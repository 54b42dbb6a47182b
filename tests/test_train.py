"""`bpnotes.train`: data, the training loop (loss goes down, same seed same history), divergence, bad arguments."""
import sys

import numpy as np
import pytest

from bpnotes.mlp import MLP
from bpnotes.train import digits, evaluate, fit, spiral, standardize, train_test_split, xor


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
    Z = standardize(np.ones((4, 2)))                                   # constant columns stay finite
    assert np.isfinite(Z).all()


def test_standardize_of_one_array_is_an_array_not_a_1_tuple():
    "Issue 19, bug 7: one array in, one array out; several in, a tuple out"
    X = np.arange(12.0).reshape(6, 2)
    Z = standardize(X)
    assert isinstance(Z, np.ndarray) and Z.shape == (6, 2)
    np.testing.assert_allclose(Z, (X - X.mean(0)) / X.std(0))
    Z_tr, Z_te = standardize(X, X[:2])
    np.testing.assert_array_equal(Z_te, Z[:2])


def test_fit_lowers_the_loss_and_records_every_epoch():
    X, y = spiral(seed=0)
    net = MLP([2, 64, 64, 3], loss="softmax_cross_entropy", seed=0)
    history = fit(net, X, y, epochs=40, lr=0.5, batch_size=32, seed=0, X_val=X[:50], y_val=y[:50])
    assert len(history["loss"]) == len(history["accuracy"]) == len(history["val_loss"]) == 40
    assert history["loss"][-1] < 0.5 * history["loss"][0] and history["diverged_at"] is None
    assert history["accuracy"][-1] == net.score(X, y)
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


def test_the_retired_predict_and_accuracy_still_answer_as_before_with_a_warning():
    "R3 S6: bpnotes.train.predict thresholded an mse network into labels, unlike net.predict: retired"
    import bpnotes.train as train
    with pytest.warns(DeprecationWarning, match=r"bpnotes.train.predict is deprecated: .* use net.predict\(X\)"):
        predict = train.predict
    with pytest.warns(DeprecationWarning, match=r"bpnotes.train.accuracy is deprecated: .* use net.score\(X, y\)"):
        from bpnotes.train import accuracy
    net = MLP([2, 1], activation="identity", loss="mse", seed=0)
    net.params[0][0][:] = [[1.0], [0.0]]
    X = np.array([[1.0, 0.0], [0.0, 5.0], [2.0, 1.0]])
    np.testing.assert_array_equal(predict(net, X), [1, 0, 1])
    assert accuracy(net, X, np.array([[1.0], [0.0], [0.0]])) == pytest.approx(2 / 3)
    assert "predict" not in train.__all__ and "accuracy" not in train.__all__
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        train.no_such_name


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
    assert "4/4" in text and "loss" in text and "\r" in text          # a bar redrawn in place


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
    assert net.score(X, y[:, None]) > 0.9


# ---- issue 19: the metric that fits the loss, a metric of one's own, early stop, restore, momentum ----

def regression(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 1))
    return X, np.sin(X)


def test_fit_reports_r2_not_accuracy_for_mse():
    "Issue 19, bug 3: sin(x) with MLP([1, 32, 1]) reported an 'accuracy' from a 0.5 threshold"
    X, y = regression()
    net = MLP([1, 32, 1], seed=0)
    history = fit(net, X, y, epochs=5, lr=0.1, batch_size=20, X_val=X[:50], y_val=y[:50])
    assert "accuracy" not in history and history["metric"] == "r2"
    from sklearn.metrics import r2_score
    assert history["r2"][-1] == pytest.approx(r2_score(y, net.forward(X)), rel=1e-12)
    assert history["val_r2"][-1] == pytest.approx(r2_score(y[:50], net.forward(X[:50])), rel=1e-12)


def test_fit_reports_accuracy_for_both_cross_entropies():
    X, y = xor(n=64, seed=0)
    for loss, targets in [("softmax_cross_entropy", y), ("binary_cross_entropy", y[:, None].astype(float))]:
        net = MLP([2, 4, targets.shape[1] if targets.ndim == 2 else 2], loss=loss, seed=0)
        history = fit(net, X, targets, epochs=2, lr=0.3, batch_size=16)
        assert history["metric"] == "accuracy" and history["accuracy"][-1] == net.score(X, targets)


def test_fit_records_a_metric_of_ones_own_under_its_name():
    X, y = regression()
    def mae(net, X, y): return float(np.abs(net.forward(X) - y).mean())
    net = MLP([1, 8, 1], seed=0)
    history = fit(net, X, y, epochs=3, lr=0.1, batch_size=20, metric=mae, X_val=X[:20], y_val=y[:20])
    assert history["metric"] == "mae" and len(history["mae"]) == len(history["val_mae"]) == 3
    assert history["mae"][-1] == mae(net, X, y) and "r2" not in history
    history = fit(net, X, y, epochs=1, lr=0.1, batch_size=20, metric=lambda net, X, y: 1.0)
    assert history["metric"] == "score" and history["score"] == [1.0]   # a lambda has no name of its own
    with pytest.raises(TypeError, match="metric must be a function"):
        fit(net, X, y, epochs=1, lr=0.1, batch_size=20, metric="mae")


def test_the_history_has_exactly_the_keys_help_fit_lists():
    "help(fit) names every key the history has, for a classifier, a regression and a metric of one's own"
    import inspect
    doc = inspect.getdoc(fit)
    X, y = xor(n=32, seed=0)
    keys = set(fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), X, y, epochs=1, lr=0.1, batch_size=8))
    Xr, yr = regression(32)
    keys |= set(fit(MLP([1, 3, 1]), Xr, yr, epochs=1, lr=0.1, batch_size=8))
    for key in keys:
        assert f"'{key}'" in doc or key.removeprefix("val_") in ("accuracy", "r2"), key
    assert "'accuracy'" in doc and "'r2'" in doc and "'val_' + that name" in doc


def test_on_epoch_returning_true_stops_training_after_that_epoch():
    X, y = xor(n=32, seed=0)
    seen = []
    def stop_at_3(epoch, history):
        seen.append(epoch)
        return epoch == 3
    net = MLP([2, 3, 2], loss="softmax_cross_entropy")
    history = fit(net, X, y, epochs=10, lr=0.1, batch_size=8, on_epoch=stop_at_3)
    assert seen == [1, 2, 3] and len(history["loss"]) == 3 and history["stopped_at"] == 3
    history = fit(net, X, y, epochs=4, lr=0.1, batch_size=8, on_epoch=lambda e, h: None)
    assert len(history["loss"]) == 4 and history["stopped_at"] is None


def diverging(restore):
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(200, 1))
    net = MLP([1, 32, 1], loss="mse", seed=0)
    start, y = net.snapshot(), np.sin(2 * X)
    history = fit(net, X, y, epochs=60, lr=1.0, batch_size=20, restore=restore)
    return net, start, history, X, y


def test_divergence_restores_the_best_parameters_by_default():
    net, start, history, X, y = diverging(restore=True)
    assert history["diverged_at"] and history["restored_epoch"] == 0   # every epoch was worse than the start
    assert all(np.array_equal(a, b) for pa, pb in zip(net.params, start) for a, b in zip(pa, pb))
    assert net.loss_of(X, y) < min(history["loss"])                    # usable: no overflow
    net, start, history, X, y = diverging(restore=False)
    assert history["restored_epoch"] is None
    with pytest.raises(FloatingPointError):
        net.loss_and_grads(X, y)


def test_restore_puts_back_the_epoch_with_the_lowest_loss():
    "A run that improves, then diverges when the callback raises the learning rate (by swapping the data)"
    X, y = regression(100)
    net = MLP([1, 16, 1], seed=0)
    saved = {}
    def keep(epoch, history):
        if history["loss"][-1] == min(history["loss"]):
            saved["params"], saved["epoch"] = net.snapshot(), epoch
        if epoch == 5:
            y[...] *= 1e200                                   # the next epoch's targets overflow the loss
    history = fit(net, X, y, epochs=8, lr=0.05, batch_size=10, on_epoch=keep)
    assert history["diverged_at"] == 6 and history["restored_epoch"] == saved["epoch"] >= 1
    assert all(np.array_equal(a, b) for pa, pb in zip(net.params, saved["params"]) for a, b in zip(pa, pb))


@pytest.mark.parametrize("kwargs", [dict(momentum=0.9), dict(weight_decay=0.05), dict(momentum=0.5, weight_decay=0.1)])
def test_fit_steps_as_step_does_with_momentum_and_weight_decay(kwargs):
    "One row, so no shuffle changes anything: fit's parameters equal those of step called by hand"
    X, y = regression(1)
    by_fit, by_hand = MLP([1, 4, 1], seed=3), MLP([1, 4, 1], seed=3)
    fit(by_fit, X, y, epochs=4, lr=0.1, batch_size=1, **kwargs)
    for _ in range(4):
        _, grads = by_hand.loss_and_grads(X, y)
        by_hand.step(grads, 0.1, **kwargs)
    assert all(np.array_equal(a, b) for pa, pb in zip(by_fit.params, by_hand.params) for a, b in zip(pa, pb))


def test_fit_starts_momentum_from_rest():
    X, y = regression(16)
    net, fresh = MLP([1, 4, 1], seed=3), MLP([1, 4, 1], seed=3)
    _, grads = net.loss_and_grads(X, y)
    net.step(grads, 0.1, momentum=0.9)                   # a velocity left from earlier
    fresh.params = net.snapshot()
    a, b = (fit(n, X, y, epochs=2, lr=0.1, batch_size=16, momentum=0.9) for n in (net, fresh))
    assert a["loss"] == b["loss"]


@pytest.mark.parametrize("kwargs, words", [
    (dict(momentum=1.0), "momentum must be a number in"),
    (dict(momentum=-0.1), "momentum must be a number in"),
    (dict(weight_decay=-1.0), "weight_decay must be a finite number >= 0"),
    (dict(weight_decay=float("inf")), "weight_decay must be a finite number >= 0"),
])
def test_fit_rejects_bad_momentum_and_weight_decay_changing_nothing(kwargs, words):
    X, y = xor(n=16)
    net = MLP([2, 3, 2], loss="softmax_cross_entropy")
    before = net.snapshot()
    with pytest.raises(ValueError, match=words):
        fit(net, X, y, epochs=1, lr=0.1, batch_size=8, **kwargs)
    assert all(np.array_equal(a, b) for pa, pb in zip(net.params, before) for a, b in zip(pa, pb))


@pytest.mark.parametrize("metric", [None, "a_long_metric_name_that_the_terminal_cannot_hold"])
def test_the_progress_bar_keeps_the_held_out_score_in_80_columns(metric, monkeypatch):
    "An 80-column terminal: the line is cut to 80 characters, and the held-out score is not what is cut"
    import io
    import bpnotes.train as train
    class Terminal(io.StringIO):
        def isatty(self): return True
    stream = Terminal()
    monkeypatch.setattr(train.sys, "stderr", stream)
    monkeypatch.setenv("COLUMNS", "80")
    X, y = xor(n=32, seed=0)
    def named(net, X, y): return net.score(X, y)
    if metric:
        named.__name__ = metric
    history = fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), X, y, epochs=200, lr=0.1, batch_size=32,
                  X_val=X[:8], y_val=y[:8], progress=True, metric=named if metric else None)
    last = stream.getvalue().rstrip("\n").split("\r")[-1]
    assert last.startswith("200/200") and len(last) <= 80, last
    name = history["metric"]
    held_out = f"{history['val_' + name][-1]:.1%}" if name == "accuracy" else f"{history['val_' + name][-1]:.4g}"
    assert f"held out {held_out}" in last


def test_evaluate_uses_the_metric_that_fits_the_loss():
    X, y = regression(50)
    net = MLP([1, 4, 1], seed=0)
    loss, r2 = evaluate(net, X, y)
    assert loss == net.loss_of(X, y) and r2 == net.score(X, y)
    assert evaluate(net, X, y, metric=lambda net, X, y: 0.5)[1] == 0.5


def test_a_learning_rate_near_the_float_limit_is_a_divergence_not_a_crash():
    X, y = xor(n=32, seed=0)
    net = MLP([2, 8, 2], loss="softmax_cross_entropy", seed=0)
    start = net.snapshot()
    history = fit(net, X, y, epochs=5, lr=1e307, batch_size=8)
    assert history["diverged_at"] == 1 and history["restored_epoch"] == 0
    assert all(np.array_equal(a, b) for pa, pb in zip(net.params, start) for a, b in zip(pa, pb))


# ---- review R3 (B4, B5, S4) and R1 (7): seeds, metrics, progress lines ----

@pytest.mark.parametrize("call", [
    lambda seed: fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), *xor(n=16), epochs=1, lr=0.1, batch_size=8,
                     seed=seed),
    lambda seed: spiral(seed=seed), lambda seed: xor(seed=seed),
    lambda seed: train_test_split(np.zeros((10, 2)), np.zeros(10), seed=seed),
], ids=["fit", "spiral", "xor", "train_test_split"])
@pytest.mark.parametrize("seed, exc", [(-1, ValueError), (1.5, TypeError), (False, TypeError)])
def test_a_bad_seed_is_refused_by_name(call, seed, exc):
    "R3 B4: fit(seed=-1) gave numpy's 'expected non-negative integer'"
    with pytest.raises(exc, match="seed must be an int >= 0, None or a numpy Generator"):
        call(seed)


def test_fit_takes_the_seeds_its_help_lists():
    import inspect
    X, y = xor(n=32, seed=0)
    run = lambda seed: fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), X, y, epochs=2, lr=0.1, batch_size=8,
                           seed=seed)["loss"]
    assert run(np.random.default_rng(5)) == run(5) == run(np.int64(5))
    assert len(run(None)) == 2
    assert "seed : int | None | np.random.Generator" in inspect.getdoc(fit)


@pytest.mark.parametrize("value", ["abc", None, [0.5], np.array([0.5, 0.5]), 1j])
def test_a_metric_that_returns_no_number_is_named(value):
    "R3 S4: a metric returning 'abc' gave float()'s raw ValueError"
    X, y = regression(20)
    def sharpness(net, X, y): return value
    with pytest.raises(TypeError, match=r"metric sharpness returned .*; a metric must return a number"):
        fit(MLP([1, 3, 1]), X, y, epochs=1, lr=0.1, batch_size=10, metric=sharpness)


def test_a_metric_may_return_nan_and_numpy_numbers():
    "R3 S4: NaN is recorded as it is (R² of one row is nan), as help(fit) says"
    import inspect
    X, y = regression(20)
    values = iter([np.float32(0.25), np.array(0.5), float("nan")])
    def drift(net, X, y): return next(values)
    history = fit(MLP([1, 3, 1]), X, y, epochs=3, lr=0.1, batch_size=10, metric=drift)
    assert history["drift"][:2] == [0.25, 0.5] and np.isnan(history["drift"][2])
    assert "NaN" in inspect.getdoc(fit)


@pytest.mark.parametrize("name", ["restored_epoch", "diverged_at", "val_r2", "loss"])
def test_a_metric_named_like_a_key_of_the_history_is_recorded_as_score(name):
    "R3 S4: a metric called restored_epoch overwrote the history's own key"
    X, y = regression(20)
    def metric(net, X, y): return 0.5
    metric.__name__ = name
    history = fit(MLP([1, 3, 1]), X, y, epochs=2, lr=0.1, batch_size=10, metric=metric)
    assert history["metric"] == "score" and history["score"] == [0.5, 0.5]
    assert history["restored_epoch"] is None and history["diverged_at"] is None and len(history["loss"]) == 2


def test_each_progress_line_is_written_in_one_call(monkeypatch):
    "R3 B5: print wrote the text and its newline apart, so a Ctrl-C between them glued the summary to it"
    import io
    import bpnotes.train as train
    writes = []
    class Log(io.StringIO):
        def write(self, text):
            writes.append(text)
            return super().write(text)
    monkeypatch.setattr(train.sys, "stderr", Log())
    X, y = xor(n=32, seed=0)
    fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), X, y, epochs=3, lr=0.1, batch_size=8, progress=True)
    assert len(writes) == 3 and all(w.startswith("epoch ") and w.endswith("\n") and w.count("\n") == 1
                                    for w in writes)


def test_a_redirected_stream_gets_lines_even_inside_a_notebook_kernel(monkeypatch):
    "R1 7: with ipykernel loaded, a stream redirected away from the kernel got a tqdm widget (or a bar)"
    import io
    import types
    import bpnotes.train as train
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))   # as inside a kernel
    stream = io.StringIO()                                                          # as redirect_stderr gives
    monkeypatch.setattr(train.sys, "stderr", stream)
    X, y = xor(n=32, seed=0)
    fit(MLP([2, 3, 2], loss="softmax_cross_entropy"), X, y, epochs=3, lr=0.1, batch_size=8, progress=True)
    lines = stream.getvalue().splitlines()
    assert "\r" not in stream.getvalue() and len(lines) == 3 and lines[-1].startswith("epoch 3/3")


def test_progress_shows_a_huge_finite_loss_in_four_digits(capsys):
    "A loss of 1e300 is finite: the progress line shows it as 2.6e+300, not as 300 digits"
    X, y = spiral(n_per_class=40, seed=0)
    history = fit(MLP([2, 16, 3], loss="softmax_cross_entropy", seed=0), X, y, epochs=2, lr=1e300,
                  batch_size=32, progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert not history["diverged_at"] and min(history["loss"]) > 1e100    # huge, and finite
    assert len(lines) == 2 and all(len(line) <= 80 and "e+" in line for line in lines), lines
