"""The proofs page can fail: run on a copy of bpnotes with one wrong formula, it stops at a proof.

`nbs/06_proofs.ipynb` runs bpnotes' own functions on SymPy symbols and asserts that each formula minus SymPy's
derivative is exactly 0 (tests/test_notebooks.py runs it as it is). Here each broken copy is a copy of the
package with one plausible slip written into its source (the repository's files are never touched); the page
runs against the copy, in a separate process, and must fail, either at a proof ("not proved") or because a
stand-in activation was asked for its slope at another function's output. The first four are the φ↔ψ swaps
that passed the page before its stand-in activations refused them; the last five (M1–M4, M4 in both per-value
functions) take the loss's gradient somewhere other than at the outputs O, and passed the page while its stand-in
loss ignored its argument (now an unknown 𝓛(O, Y), whose slopes depend on where they are asked). SymPy is a dev
dependency.
"""
import json
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

pytest.importorskip("sympy")

NOT_PROVED = "not proved: a difference is not 0"
WRONG_SLOPE = "which is not an output of"
MISMATCH = "mismatch in its core dimension"   # numpy's matmul: non-square shapes expose a lost transpose

# (id, module, the line as shipped, the line with the slip, what the page must say)
BROKEN = [
    ("psi' for delta_h in two_layer_grads", "layers",
     "delta_h = hidden_delta(delta_o, W_h, H, phi)", "delta_h = hidden_delta(delta_o, W_h, H, psi)", WRONG_SLOPE),
    ("psi' for delta in backprop", "layers",
     "delta = hidden_delta(delta, W, A_in, phi)", "delta = hidden_delta(delta, W, A_in, psi)",
     WRONG_SLOPE),
    ("phi' for delta_o in two_layer_grads", "layers",
     "delta_o = output_delta(get_loss(loss, psi).grad(O, Y), O, psi)",
     "delta_o = output_delta(get_loss(loss, psi).grad(O, Y), O, phi)", WRONG_SLOPE),
    ("phi' for delta_D in backprop", "layers",
     "delta = output_delta(dL_dO, A[D], psi)", "delta = output_delta(dL_dO, A[D], phi)", WRONG_SLOPE),
    ("missing transpose in weight_grad", "vector", "return A.T @ delta", "return A @ delta", MISMATCH),
    ("mean for sum in bias_grad", "vector", "return delta.sum(axis=0)", "return delta.mean(axis=0)", NOT_PROVED),
    ("dropped slope in hidden_delta", "layers",
     "return (delta @ W.T) * get_activation(phi).grad_from_output(A)", "return delta @ W.T", NOT_PROVED),
    ("mse_grad over rows", "loss", "return 2 * (o - y) / o.size", "return 2 * (o - y) / len(o)", NOT_PROVED),
    ("sigmoid slope sigma(1 + sigma)", "single_value",
     "Activation('sigmoid', sigmoid, lambda a: a * (1 - a))", "Activation('sigmoid', sigmoid, lambda a: a * (1 + a))",
     NOT_PROVED),
    ("stable sigmoid branches swapped", "single_value",
     "np.where(np.asarray(z) >= 0, 1 / (1 + e), e / (1 + e))", "np.where(np.asarray(z) >= 0, e / (1 + e), 1 / (1 + e))",
     NOT_PROVED),
    ("tanh computed by sinh", "single_value",
     "Activation('tanh', np.tanh, lambda a: 1 - a * a)", "Activation('tanh', np.sinh, lambda a: 1 - a * a)",
     NOT_PROVED),
    ("relu slope at a >= 0", "single_value", "lambda a: (a > 0).astype(a.dtype)", "lambda a: (a >= 0).astype(a.dtype)",
     NOT_PROVED),
    ("softmax cross-entropy gradient without 1/B", "loss",
     "return (softmax(z) - one_hot(y, z.shape[1], z.dtype)) / len(y)",
     "return softmax(z) - one_hot(y, z.shape[1], z.dtype)", NOT_PROVED),
    ("binary cross-entropy with e^|z|", "loss",
     "np.log1p(np.exp(-np.abs(z)))", "np.log1p(np.exp(np.abs(z)))", NOT_PROVED),
    # M1–M4: the loss's gradient taken at the wrong place (they passed while the page's loss ignored its input)
    ("M1 dL/dO at Z_o in two_layer_grads", "layers",
     "delta_o = output_delta(get_loss(loss, psi).grad(O, Y), O, psi)",
     "delta_o = output_delta(get_loss(loss, psi).grad(dense(H, W_h, b_h), Y), O, psi)", NOT_PROVED),
    ("M2 dL/dO at Z_D in backprop", "layers",
     "dL_dO = get_loss(loss, psi).grad(A[D], Y)", "dL_dO = get_loss(loss, psi).grad(dense(A[D - 1], *params[-1]), Y)",
     NOT_PROVED),
    ("M3 dL/dO at Z_o in output_layer_grads", "vector",
     "delta_o = output_delta(get_loss(loss, psi).grad(O, Y), O, psi)",
     "delta_o = output_delta(get_loss(loss, psi).grad(dense(H, W_h, b_h), Y), O, psi)", NOT_PROVED),
    ("M4 outputs_per_value without psi in output_layer_grads_per_value", "loss",
     "get_loss(loss, psi).grad(outputs_per_value(H, W_h, b_h, psi), Y)",
     "get_loss(loss, psi).grad(outputs_per_value(H, W_h, b_h), Y)", NOT_PROVED),
    ("M4 outputs_per_value without psi in hidden_layer_grads_per_value", "layers",
     "get_loss(loss, psi).grad(outputs_per_value(H, W_h, b_h, psi), Y)",
     "get_loss(loss, psi).grad(outputs_per_value(H, W_h, b_h), Y)", NOT_PROVED),
]

# Runs the page once per copy in one process (SymPy and nbdev imported once), forgetting bpnotes in between
RUNNER = r"""
import contextlib, io, json, sys
import numpy, sympy, IPython
from nbdev.test import test_nb
results = {}
for name, folder in json.loads(sys.argv[1]).items():
    for module in [m for m in sys.modules if m == "bpnotes" or m.startswith("bpnotes.")]: del sys.modules[module]
    sys.path.insert(0, folder)
    err, real_stderr = io.StringIO(), sys.__stderr__
    sys.__stderr__ = err                       # nbdev writes a failing cell's traceback there
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            ok, _ = test_nb(folder + "/nbs/06_proofs.ipynb", skip_flags=["notest"], basepath=folder)
    finally:
        sys.__stderr__ = real_stderr
    import bpnotes
    results[name] = dict(ok=ok, err=err.getvalue()[-3000:], package=bpnotes.__file__)
    sys.path.remove(folder)
print(json.dumps(results))
"""


def broken_copy(folder, module, shipped, slip):
    "A copy of the package and the proofs page in `folder`, with `shipped` replaced by `slip` in bpnotes/<module>.py"
    (folder / "nbs").mkdir(parents=True)
    shutil.copy(ROOT / "nbs" / "06_proofs.ipynb", folder / "nbs")
    shutil.copy(ROOT / "pyproject.toml", folder)
    shutil.copytree(ROOT / "bpnotes", folder / "bpnotes", ignore=shutil.ignore_patterns("__pycache__"))
    path = folder / "bpnotes" / f"{module}.py"
    source = path.read_text()
    assert source.count(shipped) == 1, f"bpnotes/{module}.py no longer has exactly one `{shipped}`: update BROKEN"
    path.write_text(source.replace(shipped, slip))
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    "The proofs page run against every broken copy: {id: {ok, err, package}}"
    copies = {name: str(broken_copy(tmp_path_factory.mktemp("broken"), module, shipped, slip))
              for name, module, shipped, slip, _ in BROKEN}
    result = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(copies)], capture_output=True, text=True,
                            timeout=900, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return {name: dict(r, folder=copies[name]) for name, r in json.loads(result.stdout.splitlines()[-1]).items()}


@pytest.mark.parametrize("name, message", [(b[0], b[4]) for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_the_proofs_page_rejects_a_wrong_formula(runs, name, message):
    run = runs[name]
    assert run["package"].startswith(run["folder"]), f"the page ran against {run['package']}, not the broken copy"
    assert not run["ok"], f"the proofs page passed with a slip: {name}"
    assert message in run["err"], f"the page failed, but not at a proof:\n{run['err']}"
