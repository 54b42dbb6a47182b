"""A network you can keep and copy (issue 19): deepcopy and pickle give independent, working networks;
save and MLP.load round-trip exactly through an .npz file that holds no code; snapshot copies the live
`params`; what the network is (φ, ψ, loss, params) can be changed without leaving anything stale."""
import copy
import os
import pickle

import numpy as np
import pytest

from bpnotes.loss import LOSSES, Loss
from bpnotes.mlp import MLP
from bpnotes.single_value import ACTIVATIONS, Activation
from conftest import PAIRS, random_mlp, targets


def flat(net):
    return np.concatenate([a.ravel() for pair in net.params for a in pair])


def train(net, X, y, steps=5, lr=0.1):
    for _ in range(steps):
        _, grads = net.loss_and_grads(X, y)
        net.step(grads, lr)


# ---- copies ----

@pytest.mark.parametrize("make_copy", [copy.deepcopy, lambda net: pickle.loads(pickle.dumps(net)), copy.copy],
                         ids=["deepcopy", "pickle", "copy"])
@pytest.mark.parametrize("psi, loss", PAIRS)
def test_a_copy_is_an_independent_working_network(make_copy, psi, loss):
    "Issue 19, bugs 1 and 2: a deepcopy's views came apart from its vector (steps changed nothing, a softmax"
    "copy rejected valid labels); no network could be pickled"
    net, X, y = random_mlp([3, 5, 4, 2], "tanh", psi, loss, B=7, seed=1)
    twin = make_copy(net)
    before = flat(net)
    assert repr(twin) == repr(net) and np.array_equal(flat(twin), before)
    assert twin.loss_and_grads(X, y)[0] == net.loss_and_grads(X, y)[0]      # same numbers, labels accepted
    first = twin.loss_of(X, y)
    train(twin, X, y)
    assert twin.loss_of(X, y) < first                                       # its steps change it...
    assert np.array_equal(flat(net), before)                                # ...and not the original
    train(net, X, y, steps=1)
    assert not np.array_equal(flat(net), before) and not np.array_equal(flat(net), flat(twin))


def test_a_copy_keeps_dtype_meta_velocity_and_builtins():
    net = MLP([3, 4, 2], activation="relu", loss="softmax_cross_entropy", dtype=np.float32, seed=2)
    net.meta = {"note": "kept"}
    X, y = np.ones((2, 3)), np.array([0, 1])
    _, grads = net.loss_and_grads(X, y)
    net.step(grads, 0.1, momentum=0.9)
    for twin in (copy.deepcopy(net), pickle.loads(pickle.dumps(net)), copy.copy(net)):
        assert twin.dtype == np.float32 and twin.meta == {"note": "kept"} and twin.meta is not net.meta
        assert twin.activation is ACTIVATIONS["relu"] and twin.loss is LOSSES["softmax_cross_entropy"]
        a, b = copy.deepcopy(net), twin                                     # the velocity carries over
        for n in (a, b):
            n.step(grads, 0.1, momentum=0.9)
        assert np.array_equal(flat(a), flat(b))


def test_a_deepcopy_keeps_an_activation_of_your_own():
    cube = Activation("cube", lambda z: z ** 3, lambda a: 3 * np.cbrt(a) ** 2)
    net = MLP([3, 4, 2], activation=cube, seed=0)
    twin = copy.deepcopy(net)
    X = np.linspace(-1, 1, 6).reshape(2, 3)
    assert twin.activation.name == "cube" and np.array_equal(twin.forward(X), net.forward(X))


def test_copies_work_across_processes():
    "What multiprocessing and joblib do: pickle in one process, unpickle and compute in another"
    import subprocess
    import sys
    net, X, y = random_mlp([3, 5, 2], "sigmoid", "identity", "softmax_cross_entropy", B=4, seed=3)
    code = ("import pickle, sys; net, X, y = pickle.load(sys.stdin.buffer); "
            "print(repr(net.loss_and_grads(X, y)[0]))")
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps((net, X, y)),
                         capture_output=True, check=True).stdout
    assert float(out) == net.loss_and_grads(X, y)[0]


def test_an_equal_but_not_identical_builtin_takes_the_builtins_path():
    "Issue 19, bug 1: Loss(*LOSSES['softmax_cross_entropy']) rejected labels as a softmax copy did"
    same_loss = Loss(*LOSSES["softmax_cross_entropy"])
    same_tanh = Activation(*ACTIVATIONS["tanh"])
    assert same_loss is not LOSSES["softmax_cross_entropy"] and same_loss == LOSSES["softmax_cross_entropy"]
    net = MLP([3, 4, 2], activation=same_tanh, loss=same_loss, seed=0)
    ref = MLP([3, 4, 2], loss="softmax_cross_entropy", seed=0)
    X, y = np.ones((3, 3)), np.array([0, 1, 1])
    assert net.loss is LOSSES["softmax_cross_entropy"] and net.activation is ACTIVATIONS["tanh"]
    assert net.loss_and_grads(X, y)[0] == ref.loss_and_grads(X, y)[0]
    assert np.array_equal(net.predict(X), ref.predict(X))


# ---- live params and snapshots ----

def test_params_are_live_views_and_snapshot_is_a_copy():
    "Issue 19, bug 7: snap = net.params silently follows training; snapshot() does not"
    net, X, y = random_mlp([3, 5, 2], "tanh", "identity", "mse", B=6, seed=4)
    live, snap = net.params, net.snapshot()
    train(net, X, y, steps=1)
    assert np.array_equal(live[0][0], net.params[0][0])                      # the views moved with it
    assert not np.array_equal(snap[0][0], net.params[0][0])                  # the snapshot did not
    assert all(not np.shares_memory(a, b) for pa, pb in zip(snap, net.params) for a, b in zip(pa, pb))
    net.params = snap
    assert all(np.array_equal(a, b) for pa, pb in zip(snap, net.params) for a, b in zip(pa, pb))


# ---- what the network is, changed after construction ----

def test_changing_the_activation_leaves_nothing_stale():
    "Issue 19, bug 5: after net.activation changed, loss_and_grads used the old φ (1.0593 vs 1.0836)"
    net, X, y = random_mlp([3, 5, 2], "tanh", "identity", "mse", B=7, seed=5)
    net.loss_and_grads(X, y)                                                   # a workspace for B = 7 exists
    net.activation = "relu"                                                    # a name, as in the constructor
    relu = MLP([3, 5, 2], activation="relu")
    relu.params = net.snapshot()
    assert net.activation is ACTIVATIONS["relu"]
    assert net.loss_and_grads(X, y)[0] == pytest.approx(net.loss_of(X, y), rel=1e-14)
    assert net.loss_and_grads(X, y)[0] == relu.loss_and_grads(X, y)[0]
    net.output_activation = ACTIVATIONS["sigmoid"]
    assert net.loss_and_grads(X, y)[0] == pytest.approx(net.loss_of(X, y), rel=1e-14)
    net.output_activation, net.loss = "identity", "binary_cross_entropy"
    Yb = (y > 0).astype(float)
    assert net.loss_and_grads(X, Yb)[0] == pytest.approx(net.loss_of(X, Yb), rel=1e-14)


@pytest.mark.parametrize("change, exc, words", [
    (lambda net: setattr(net, "activation", "swish"), ValueError, "unknown activation 'swish'"),
    (lambda net: setattr(net, "activation", 3), TypeError, "activation must be a string or an Activation"),
    (lambda net: setattr(net, "output_activation", "tanh"), ValueError, "takes logits"),
    (lambda net: setattr(net, "loss", "hinge"), ValueError, "unknown loss 'hinge'"),
    (lambda net: setattr(net, "sizes", [3, 2]), AttributeError, None),
    (lambda net: net.sizes.append(7), None, ""),
])
def test_bad_changes_are_refused_and_change_nothing(change, exc, words):
    net = MLP([3, 5, 2], loss="softmax_cross_entropy", seed=0)
    X, y = np.ones((2, 3)), np.array([0, 1])
    before = (repr(net), net.loss_and_grads(X, y)[0])
    if exc is None:
        change(net)                                                            # a copy: harmless
    else:
        with pytest.raises(exc, match=words):
            change(net)
    assert (repr(net), net.loss_and_grads(X, y)[0]) == before


def test_parameters_that_are_not_finite_are_refused_and_named():
    "Issue 19, bug 4: NaN parameters were accepted, and the next forward blamed the learning rate"
    net = MLP([3, 4, 2], seed=0)
    before = flat(net)
    bad = [(np.full((3, 4), np.nan), np.zeros(4)), (np.zeros((4, 2)), np.zeros(2))]
    with pytest.raises(ValueError, match=r"params\[0\] contains NaN"):
        net.params = bad
    assert np.array_equal(flat(net), before)
    net.params[1][1][0] = np.inf                                               # in place: found when used
    for call in (lambda: net.forward(np.ones((2, 3))), lambda: net.loss_and_grads(np.ones((2, 3)), np.ones((2, 2)))):
        with pytest.raises(ValueError, match=r"net.params\[1\] holds NaN or infinite values") as info:
            call()
        assert "learning rate" not in str(info.value)


# ---- save and load ----

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("psi, loss", PAIRS)
def test_save_and_load_round_trip_exactly(tmp_path, dtype, psi, loss):
    net, X, y = random_mlp([3, 6, 1, 2], "relu", psi, loss, B=5, seed=6, dtype=dtype)
    net.meta = {"data": "random", "seed": 6, "scale": [0.5, 1.5], "nested": {"ok": True}}
    path = tmp_path / "net.npz"
    net.save(path)
    back = MLP.load(path)
    assert repr(back) == repr(net) and back.sizes == net.sizes and back.dtype == dtype
    assert back.activation is net.activation and back.output_activation is net.output_activation
    assert back.loss is net.loss and back.meta == net.meta
    assert flat(back).dtype == dtype and np.array_equal(flat(back), flat(net))   # bit for bit
    assert back.loss_and_grads(X, y)[0] == net.loss_and_grads(X, y)[0]
    assert np.array_equal(back.predict(X), net.predict(X))


def test_the_file_is_plain_arrays_named_after_the_notation(tmp_path):
    net = MLP([3, 5, 2], seed=0)
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert sorted(f.files) == ["W_1", "W_2", "b_1", "b_2", "header"]
        np.testing.assert_array_equal(f["W_2"], net.params[1][0])
    net.save(tmp_path / "no_suffix")                                          # written by exactly that name
    assert (tmp_path / "no_suffix").exists() and MLP.load(tmp_path / "no_suffix").sizes == [3, 5, 2]


def test_an_activation_of_your_own_is_saved_by_name_and_asked_for_on_load(tmp_path):
    softplus = Activation("softplus", lambda z: np.logaddexp(0, z), lambda a: -np.expm1(-a))
    half = Loss("half_mse", lambda o, y: 0.5 * np.mean((o - y) ** 2), lambda o, y: (o - y) / o.size)
    net = MLP([3, 4, 2], activation=softplus, loss=half, seed=0)
    path = str(tmp_path / "mine.npz")
    net.save(path)
    with pytest.raises(ValueError, match=r"uses the Activation 'softplus', which is not built in.*custom="):
        MLP.load(path)
    with pytest.raises(ValueError, match="uses the Loss 'half_mse'"):
        MLP.load(path, custom=[softplus])
    back = MLP.load(path, custom=[half, softplus])
    assert back.activation is softplus and back.loss is half and np.array_equal(flat(back), flat(net))


def test_a_namesake_of_a_builtin_is_refused_at_save(tmp_path):
    fake = Activation("tanh", lambda z: z ** 3, lambda a: 3 * np.cbrt(a) ** 2)
    with pytest.raises(ValueError, match="called 'tanh' but is not the built-in one"):
        MLP([3, 4, 2], activation=fake).save(tmp_path / "fake.npz")
    assert not (tmp_path / "fake.npz").exists()


def test_meta_must_be_json(tmp_path):
    net = MLP([3, 2])
    net.meta = {"array": np.zeros(2)}
    with pytest.raises(TypeError, match="net.meta must hold JSON values"):
        net.save(tmp_path / "m.npz")


class Boom:
    "Unpickling this object would create a file: the proof that code ran"
    def __init__(self, marker): self.marker = marker
    def __reduce__(self): return (open, (self.marker, "w"))


def test_load_never_unpickles_anything(tmp_path):
    marker = tmp_path / "code ran"
    net = MLP([3, 5, 2], seed=0)
    good = tmp_path / "good.npz"
    net.save(good)
    with np.load(good) as f:
        arrays = dict(f)
    arrays["W_1"] = np.array([Boom(str(marker))], dtype=object)               # a pickled object in the file
    evil = tmp_path / "evil.npz"
    np.savez(evil, **arrays)
    with pytest.raises(ValueError, match="is not a network written by MLP.save"):
        MLP.load(evil)
    with open(tmp_path / "evil.pkl", "wb") as f:
        pickle.dump(Boom(str(marker)), f)
    with pytest.raises(ValueError, match="not an .npz archive"):
        MLP.load(tmp_path / "evil.pkl")
    assert not marker.exists()


@pytest.mark.parametrize("make, words", [
    (lambda p: p.write_text("hello"), "not an .npz archive"),
    (lambda p: np.savez(p, W_1=np.ones(2)), "is not a network written by MLP.save"),
    (lambda p: np.savez(p, header=np.array('{"format": "other"}')), "not a bpnotes header"),
    (lambda p: np.savez(p, header=np.array('{"format": "bpnotes.MLP", "version": 9, "saved_by": "bpnotes 9.0"}')),
     "saved by bpnotes 9.0, in a newer format"),
])
def test_load_explains_a_file_it_cannot_read(tmp_path, make, words):
    path = tmp_path / "x.npz"
    make(path)
    with pytest.raises(ValueError, match=words):
        MLP.load(path)


def test_load_names_missing_or_mismatched_parameters(tmp_path):
    net = MLP([3, 5, 2], seed=0)
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        arrays = dict(f)
    for broken in ({k: v for k, v in arrays.items() if k != "b_2"},
                   {**arrays, "W_1": arrays["W_1"].astype(np.float32)},
                   {**arrays, "W_1": arrays["W_1"].T}):
        np.savez(tmp_path / "broken.npz", **broken)
        with pytest.raises(ValueError, match="lacks parameters|params must be"):
            MLP.load(tmp_path / "broken.npz")
    with pytest.raises(FileNotFoundError):
        MLP.load(tmp_path / "no such file.npz")


def test_a_loaded_network_trains_on():
    "Saved, loaded and trained further: the same steps as the original would take"
    import tempfile
    net, X, y = random_mlp([2, 8, 3], "tanh", "identity", "softmax_cross_entropy", B=9, seed=7)
    with tempfile.TemporaryDirectory() as folder:
        net.save(os.path.join(folder, "m.npz"))
        back = MLP.load(os.path.join(folder, "m.npz"))
    train(net, X, y)
    train(back, X, y)
    assert np.array_equal(flat(back), flat(net))


# ---- meta comes back as it was; file objects (review R3: S7) ----

@pytest.mark.parametrize("meta, words", [
    ({1: "x"}, r"would not come back as it is: MLP.load would give \{'1': 'x'\}"),
    ({"shape": (3, 4)}, r"would give \{'shape': \[3, 4\]\}"),
    ({"nested": {True: 1}}, "would not come back as it is"),
])
def test_meta_that_json_would_change_is_refused_at_save(tmp_path, meta, words):
    "R3 S7: net.meta = {1: 'x'} came back {'1': 'x'}, silently"
    net = MLP([3, 2])
    net.meta = meta
    with pytest.raises(TypeError, match=words):
        net.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("meta", ["a note", ["a", "list"], None, 3])
def test_meta_must_be_a_dict(meta):
    "R3 S7: net.meta = 'str' was accepted though the docs say dict"
    net = MLP([3, 2])
    with pytest.raises(TypeError, match=f"net.meta must be a dict .*got {type(meta).__name__}"):
        net.meta = meta
    assert net.meta == {}


def test_meta_of_every_json_kind_comes_back_equal(tmp_path):
    net = MLP([3, 2])
    net.meta = {"s": "x", "i": 3, "f": 0.5, "b": True, "n": None, "l": [1, [2.5, "y"]], "d": {"k": {"j": []}}}
    net.save(tmp_path / "m.npz")
    assert MLP.load(tmp_path / "m.npz").meta == net.meta


def test_save_and_load_take_file_objects(tmp_path):
    "R3 S7: save(io.BytesIO()) was refused (np.savez and joblib take file objects)"
    import io
    net = MLP([3, 5, 2], loss="softmax_cross_entropy", seed=4)
    net.meta = {"note": "in memory"}
    buffer = io.BytesIO()
    net.save(buffer)
    buffer.seek(0)
    back = MLP.load(buffer)
    assert np.array_equal(flat(back), flat(net)) and back.meta == net.meta and repr(back) == repr(net)
    with open(tmp_path / "m.npz", "wb") as f:                        # an open file, closed by its owner
        f.write(b"not ours first")
        start = f.tell()
        net.save(f)
        assert not f.closed
    with open(tmp_path / "m.npz", "rb") as f:
        f.seek(start)                                                   # read from where save's bytes start
        assert np.array_equal(flat(MLP.load(f)), flat(net))
    with pytest.raises(ValueError, match="the BytesIO given is not a network written by MLP.save"):
        MLP.load(io.BytesIO(b"hello"))


def test_copy_copy_is_a_whole_copy():
    "R3 S8: copy.copy gives a network of its own (its meta too), as help(MLP) says"
    net = MLP([3, 4, 2], seed=0)
    net.meta = {"runs": [1]}
    twin = copy.copy(net)
    twin.meta["runs"].append(2)
    assert net.meta == {"runs": [1]} and "copy.copy" in MLP.__doc__


def test_a_file_whose_meta_is_not_a_dict_still_loads(tmp_path):
    "Files written before net.meta had to be a dict (meta = 'a note' was accepted) load as they were saved"
    import json
    MLP([3, 2]).save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        arrays = dict(f)
    header = json.loads(str(arrays["header"][()]))
    arrays["header"] = np.array(json.dumps({**header, "meta": "a note"}))
    np.savez(tmp_path / "old.npz", **arrays)
    assert MLP.load(tmp_path / "old.npz").meta == "a note"
