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
    "Random targets for `B` rows and `n` outputs: floats for mse, integer labels for cross-entropy"
    return rng.normal(size=(B, n)) if loss == "mse" else rng.integers(0, n, size=B)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
