"""Delivery: the wheel builds offline, passes twine, and installed into a fresh virtual environment with no extras
it imports every module, trains a step and runs `bpnotes check`, with none of jupyter, nbdev, pytest, scikit-learn.

No network: the wheel is built with --no-isolation, and the fresh environment gets the wheel's runtime
dependencies (numpy, matplotlib, tqdm and theirs) by linking exactly those distributions from this one.
"""
import os
import re
import subprocess
import sys
import venv
from importlib.metadata import distribution

import pytest
from packaging.requirements import Requirement

from conftest import ROOT, modules

OPTIONAL = ["jupyter", "nbdev", "pytest", "sklearn", "IPython", "hypothesis", "autograd", "sympy", "fastcore"]


def run(*cmd, **kw):
    result = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kw)
    assert result.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def runtime_distributions(name="bpnotes", seen=None):
    "The distributions `name` needs at run time (its Requires-Dist without extras), recursively"
    seen = set() if seen is None else seen
    for line in distribution(name).requires or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        key = req.name.lower()
        if key not in seen:
            seen.add(key)
            runtime_distributions(req.name, seen)
    return seen


def link_distributions(names, folder):
    "Symlink every top-level file or package of the distributions `names` (and their metadata) into `folder`"
    folder.mkdir()
    for name in names:
        dist = distribution(name)
        for top in {f.parts[0] for f in dist.files or [] if f.parts and f.parts[0] not in ("..", "__pycache__")}:
            source, target = dist.locate_file(top), folder / top
            if os.path.exists(source) and not target.exists():
                target.symlink_to(source)


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", out, ROOT)
    return out


def test_sdist_and_wheel_pass_twine(dist):
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"]
    assert "PASSED" in run(sys.executable, "-m", "twine", "check", *files)


def test_wheel_in_a_fresh_environment_without_extras(dist, tmp_path):
    env = tmp_path / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    link_distributions(runtime_distributions(), tmp_path / "deps")
    with open(os.path.join(site, "bpnotes-runtime-deps.pth"), "w") as f:
        f.write(str(tmp_path / "deps") + "\n")
    (wheel,) = dist.glob("bpnotes-*.whl")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--no-deps", "--quiet", wheel)
    script = f"""
import importlib, importlib.util, sys
import numpy as np
for name in {OPTIONAL!r}:
    assert importlib.util.find_spec(name) is None, name + ' should not be installed here'
import bpnotes
assert 'matplotlib' not in sys.modules
for module in {modules()!r}:
    importlib.import_module(module)
from bpnotes import MLP
net = MLP([3, 5, 2], seed=0)
rng = np.random.default_rng(0)
X, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
before, grads = net.loss_and_grads(X, y)
net.step(grads, lr=0.1)
after, _ = net.loss_and_grads(X, y)
assert after < before
print(bpnotes.__version__, bpnotes.__file__)
"""
    out = run(python, "-c", script, cwd=tmp_path)
    assert str(env) in out                                   # the installed wheel, not the source tree
    counts = re.search(r"(\d+) of (\d+) checks passed", run(env / "bin" / "bpnotes", "check", "--seed", "3", cwd=tmp_path))
    assert counts and counts[1] == counts[2]
    result = subprocess.run([env / "bin" / "bpnotes", "train", "--data", "digits"], capture_output=True, text=True)
    assert result.returncode == 1 and "pip install scikit-learn" in result.stderr   # optional, and says so
