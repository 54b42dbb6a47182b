"""Delivery: the wheel builds offline, passes twine, and installed into fresh virtual environments works as a user
expects. With no extras (none of jupyter, nbdev, pytest, scikit-learn) it imports every module, runs `bpnotes
check`, trains, saves, loads in a new process with the same answers, pickles and copies; the digits say to install
the `data` extra. With that extra, `bpnotes train --data digits --save` and `bpnotes evaluate` agree.

No network: the wheel is built with --no-isolation, and each fresh environment gets the wheel's runtime
dependencies (numpy, matplotlib, tqdm and theirs, and for the extra scikit-learn and its) by linking exactly
those distributions from this one.
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


def runtime_distributions(name="bpnotes", seen=None, extra=""):
    "The distributions `name` needs at run time (its Requires-Dist, with `extra` if given), recursively"
    seen = set() if seen is None else seen
    for line in distribution(name).requires or []:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
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


def fresh_environment(dist, folder, extra=""):
    "A new virtual environment in `folder` with the wheel installed and its runtime dependencies linked in"
    env = folder / "env"
    venv.create(env, with_pip=False)
    python = env / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    link_distributions(runtime_distributions(extra=extra), folder / "deps")
    with open(os.path.join(site, "bpnotes-runtime-deps.pth"), "w") as f:
        f.write(str(folder / "deps") + "\n")
    (wheel,) = dist.glob("bpnotes-*.whl")
    run(sys.executable, "-m", "pip", "--python", python, "install", "--no-index", "--no-deps", "--quiet", wheel)
    return env


TRAIN_AND_SAVE = """
import copy, pickle, sys
import numpy as np
from bpnotes import MLP, fit
from bpnotes.train import spiral, standardize, train_test_split
X_train, X_test, y_train, y_test = train_test_split(*spiral(), seed=0)
X_train, X_test = standardize(X_train, X_test)
net = MLP([2, 16, 3], loss="softmax_cross_entropy", seed=0)
history = fit(net, X_train, y_train, epochs=20, lr=0.1, batch_size=16, momentum=0.9)
assert history["loss"][-1] < history["loss"][0]
net.save(sys.argv[1])
np.save(sys.argv[2], X_test)
print(net.predict(X_test).tolist(), net.score(X_test, y_test), net.predict_proba(X_test).tolist())
for twin in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):     # independent and working
    before = net.loss_of(X_train, y_train)
    fit(twin, X_train, y_train, epochs=3, lr=0.1, batch_size=16)
    assert twin.loss_of(X_train, y_train) < before == net.loss_of(X_train, y_train)
"""

LOAD_AND_ASK = """
import sys
import numpy as np
from bpnotes import MLP
from bpnotes.train import spiral, train_test_split
net = MLP.load(sys.argv[1])
X_test = np.load(sys.argv[2])
y_test = train_test_split(*spiral(), seed=0)[3]
print(net.predict(X_test).tolist(), net.score(X_test, y_test), net.predict_proba(X_test).tolist())
"""


def test_wheel_in_a_fresh_environment_without_extras(dist, tmp_path):
    env = fresh_environment(dist, tmp_path)
    python, bpnotes = env / "bin" / "python", env / "bin" / "bpnotes"
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
    counts = re.search(r"(\d+) of (\d+) checks passed", run(bpnotes, "check", "--seed", "3", cwd=tmp_path))
    assert counts and counts[1] == counts[2]
    result = subprocess.run([bpnotes, "train", "--data", "digits"], capture_output=True, text=True)
    assert result.returncode == 1 and 'pip install "bpnotes[data]"' in result.stderr   # optional, and says so


def test_from_the_wheel_train_save_load_in_a_new_process_and_ask(dist, tmp_path):
    "Issue 19's done-when: the same predictions, probabilities and score after a round trip through a file"
    env = fresh_environment(dist, tmp_path)
    python, model, X_test = env / "bin" / "python", tmp_path / "m.npz", tmp_path / "X_test.npy"
    trained = run(python, "-c", TRAIN_AND_SAVE, model, X_test, cwd=tmp_path)
    loaded = run(python, "-c", LOAD_AND_ASK, model, X_test, cwd=tmp_path)
    assert trained == loaded and len(trained) > 100
    out = run(python, "-m", "bpnotes", "--version", cwd=tmp_path)
    assert out.startswith("bpnotes ")
    summary = run(python, "-m", "bpnotes.cli", "check", "--seed", "5", "--quiet", cwd=tmp_path).strip()
    assert re.fullmatch(r"(\d+) of \1 checks passed .*", summary), summary
    lines = [run(env / "bin" / "bpnotes", *argv, cwd=tmp_path).strip().splitlines()[-1]
             for argv in (["train", "--data", "spiral", "--epochs", "20", "--save", "s.npz", "-q"],
                          ["evaluate", "s.npz", "-q"])]
    assert lines[0].split(" (")[0] == lines[1]


def test_from_the_wheel_with_the_data_extra_train_and_evaluate_the_digits(dist, tmp_path):
    "Issue 19's done-when: bpnotes train --data digits --save m.npz, then evaluate m.npz: the same accuracy"
    assert "scikit-learn" in runtime_distributions(extra="data"), "no data extra: pip install -e '.[dev]' again"
    env = fresh_environment(dist, tmp_path, extra="data")
    bpnotes = env / "bin" / "bpnotes"
    trained = run(bpnotes, "train", "--data", "digits", "--save", "m.npz", cwd=tmp_path)
    evaluated = run(bpnotes, "evaluate", "m.npz", cwd=tmp_path)
    result = trained.strip().splitlines()[-2]                # the line before "network saved to ..."
    assert "test accuracy" in result and result.split(" (")[0] == evaluated.strip().splitlines()[-1]
    assert float(result.split("test accuracy ")[1].split("%")[0]) >= 95
