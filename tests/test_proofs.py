"""The proofs page can fail: with a plausible slip in the code that ships, it stops at a proof that is not 0.

`nbs/06_proofs.ipynb` runs bpnotes' own functions on SymPy symbols and asserts that each formula minus SymPy's
derivative expands to 0 (tests/test_notebooks.py runs it as it is). Here one function is replaced by a slip
before the page runs, and the page must fail with its "not proved" assertion. SymPy is a dev dependency.
"""
import importlib

import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook

from conftest import NBS, ROOT

pytest.importorskip("sympy")

PAGE = NBS / "06_proofs.ipynb"


def delta_without_slope(delta, W, A, phi="tanh"):
    "δ_h with φ' forgotten: δ Wᵀ"
    return delta @ W.T


def mse_grad_per_row(o, y):
    "∂L/∂O averaged over the B rows instead of the B·n entries"
    return 2 * (o - y) / len(o)


def slip_sigmoid_slope(monkeypatch):
    "σ' written as σ(1 + σ)"
    from bpnotes.single_value import ACTIVATIONS
    monkeypatch.setitem(ACTIVATIONS, "sigmoid", ACTIVATIONS["sigmoid"]._replace(grad_from_output=lambda a: a * (1 + a)))


def slip(module, name, wrong):
    def apply(monkeypatch):
        monkeypatch.setattr(importlib.import_module(module), name, wrong)
    apply.__doc__ = wrong.__doc__
    return apply


@pytest.mark.parametrize("apply_slip", [
    slip("bpnotes.layers", "hidden_delta", delta_without_slope),
    slip("bpnotes.loss", "mse_grad", mse_grad_per_row),
    slip_sigmoid_slope,
], ids=["hidden_delta without phi'", "mse_grad over rows", "sigmoid slope"])
def test_the_proofs_page_fails_on_a_wrong_formula(apply_slip, monkeypatch, capfd):
    apply_slip(monkeypatch)
    ok, _ = run_notebook(PAGE, skip_flags=get_config(ROOT).tst_flags.split(), basepath=ROOT)
    assert not ok, f"the proofs page passed with a slip: {apply_slip.__doc__}"
    assert "not proved: a difference is not 0" in capfd.readouterr().err

