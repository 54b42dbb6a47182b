"Shared helpers for the bpnotes test suite"
import os
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NBS = ROOT / "nbs"


def examples(n):
    "Hypothesis examples per test: `n`, times BPNOTES_EXAMPLES_SCALE when set (for long flakiness hunts)"
    return int(n * float(os.environ.get("BPNOTES_EXAMPLES_SCALE", 1)))


def modules():
    "Dotted names of the package's modules, as exported from the notebooks"
    return sorted(f"bpnotes.{p.stem}" for p in (ROOT / "bpnotes").glob("*.py") if not p.name.startswith("_"))


def copy_project(folder):
    "Copy what nbdev needs (pyproject.toml, nbs/, bpnotes/) into `folder`, to run nbdev there without touching the repo"
    import shutil
    shutil.copy(ROOT / "pyproject.toml", folder)
    shutil.copytree(NBS, folder / "nbs")
    shutil.copytree(ROOT / "bpnotes", folder / "bpnotes", ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def notebooks():
    "The project's notebooks, in the order of the site"
    return sorted(p for p in NBS.glob("*.ipynb") if not p.name.startswith(("_", ".")))


def random_biases(net, rng, scale=0.5):
    "Give every layer of `net` a random bias: the zeros of the initialisation would hide a bias mistake"
    for _, b in net.params:
        b[:] = rng.normal(size=b.shape) * scale


def targets(rng, loss, B, n):
    "Random targets for `B` rows and `n` outputs: floats for mse, labels for softmax, [0, 1] for binary"
    if loss == "softmax_cross_entropy":
        return rng.integers(0, n, size=B)
    if loss == "binary_cross_entropy":
        return rng.uniform(size=(B, n))
    return rng.normal(size=(B, n))


# (output activation, loss) pairs that go together: any output activation with mse, identity with the others
PAIRS = ([(psi, "mse") for psi in ["sigmoid", "tanh", "relu", "identity"]]
         + [("identity", "softmax_cross_entropy"), ("identity", "binary_cross_entropy")])


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


def random_mlp(sizes, activation, output_activation, loss, B, seed, dtype=np.float64):
    "An `MLP` with random biases and a random batch `(net, X, y)` for it, all drawn from `seed`"
    from bpnotes.mlp import MLP
    rng = np.random.default_rng(seed)
    net = MLP(sizes, activation=activation, output_activation=output_activation, loss=loss, seed=seed, dtype=dtype)
    random_biases(net, rng)
    return net, rng.normal(size=(B, sizes[0])), targets(rng, loss, B, sizes[-1])


def networks():
    """Hypothesis strategy for `(sizes, activation, output_activation, loss, B, seed)`: depth 1 to 4, widths 1 to 7,
    batch 1 to 9, any hidden activation, and an output activation and loss that go together"""
    from hypothesis import strategies as st
    return st.tuples(st.lists(st.integers(1, 7), min_size=2, max_size=5),
                     st.sampled_from(["sigmoid", "tanh", "relu", "identity"]), st.sampled_from(PAIRS),
                     st.integers(1, 9), st.integers(0, 2**32 - 1)).map(lambda t: (t[0], t[1], *t[2], t[3], t[4]))


def near_a_relu_kink(net, X, margin=1e-3):
    "True when a ReLU pre-activation is so close to 0 that float32 rounding may put it on the other side"
    if "relu" not in (net.activation.name, net.output_activation.name):
        return False
    A = X.astype(np.float64)
    for W, b in net.params:
        Z = A @ W.astype(np.float64) + b.astype(np.float64)
        if np.abs(Z).min() < margin:
            return True
        A = net.activation(Z)
    return False
