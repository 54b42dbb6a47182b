"""Sections 3 and 4's functions for the notes' network against an independent oracle: HIPS autograd differentiating
the forward pass written separately in `tests/test_oracle.py` (`oracle_loss`), nothing of bpnotes on its side.

`output_layer_grads` (section 3) is the output layer alone, a one-layer network whose input is H; `two_layer_grads`
(section 4) is the whole notes' network. Every hidden activation, every output activation and loss that go together,
a batch of 7 rows and a single row, and no square weight matrix (m = 3, p = 5, n = 2). The pages' three-way checks
use finite differences, which share the forward pass with the formulas; these share nothing."""
import numpy as np
import pytest
from autograd import grad

from bpnotes.gradcheck import as_vector, rel_error
from bpnotes.layers import two_layer_grads, two_layer_loss
from bpnotes.vector import output_layer_grads
from conftest import PAIRS, targets
from test_oracle import oracle_loss

M, P, N = 3, 5, 2
ACTIVATIONS = ["sigmoid", "tanh", "relu", "identity"]


def problem(B, loss, seed):
    "X (B, m), the notes' four parameter arrays with random biases, and targets Y for `loss`"
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(B, M))
    params = [rng.normal(size=(M, P)) / np.sqrt(M), rng.normal(size=P) / 2,
              rng.normal(size=(P, N)) / np.sqrt(P), rng.normal(size=N) / 2]
    return X, params, targets(rng, loss, B, N)


@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("psi, loss", PAIRS)
def test_output_layer_grads_match_autograd(psi, loss, B):
    _, (_, _, W_h, b_h), Y = problem(B, loss, seed=B)
    H = np.tanh(np.random.default_rng(B + 1).normal(size=(B, P)))
    ref = grad(oracle_loss)([(W_h, b_h)], H, Y, "identity", psi, loss)   # one layer: ψ only
    mine = output_layer_grads(H, W_h, b_h, Y, psi, loss)
    assert rel_error(as_vector(mine), as_vector(ref)) <= 1e-12


@pytest.mark.parametrize("B", [1, 7])
@pytest.mark.parametrize("psi, loss", PAIRS)
@pytest.mark.parametrize("phi", ACTIVATIONS)
def test_two_layer_grads_match_autograd(phi, psi, loss, B):
    X, (W_i, b_i, W_h, b_h), Y = problem(B, loss, seed=B)
    ref = grad(oracle_loss)([(W_i, b_i), (W_h, b_h)], X, Y, phi, psi, loss)
    mine = two_layer_grads(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)
    assert rel_error(as_vector(mine), as_vector(ref)) <= 1e-12
    ref_loss = oracle_loss([(W_i, b_i), (W_h, b_h)], X, Y, phi, psi, loss)
    assert rel_error(two_layer_loss(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss), ref_loss) <= 1e-12


# Section 4's pages as committed: the vanishing-gradients sentence and the any-depth subscript rule.
import json
import re

from bpnotes.layers import backprop
from conftest import NBS

PAGE = json.loads((NBS / "03_earlier_layers.ipynb").read_text())


def _text(s): return "".join(s) if isinstance(s, list) else s


def saved_markdown(nb, start):
    "The saved Markdown output of `nb` that begins with `start`"
    return next(_text(o["data"]["text/markdown"]) for c in nb["cells"] for o in c.get("outputs", [])
                if _text(o.get("data", {}).get("text/markdown", "")).startswith(start))


def first_layer_norms(trials, D=16, width=64):
    "(|∂L/∂W_1|, |∂L/∂W_2|) of each sigmoid network of the caption, drawn as the page draws them"
    norms = []
    for trial in range(trials):
        gen = np.random.default_rng(trial)
        params = [(gen.normal(size=(width, width)) / np.sqrt(width), np.zeros(width)) for _ in range(D - 1)]
        params.append((gen.normal(size=(width, 1)) / np.sqrt(width), np.zeros(1)))
        X, Y = gen.normal(size=(64, width)), gen.normal(size=(64, 1))
        (dW_1, _), (dW_2, _) = backprop(X, params, Y, "sigmoid")[:2]
        norms.append((np.linalg.norm(dW_1), np.linalg.norm(dW_2)))
    return np.array(norms).T


def vanishing_problems(text):
    "What is wrong with the W_1 step the vanishing-gradients sentence states"
    found = re.search(r"has a median of ([\d.]+) over the (\d+) networks \(quartiles ([\d.]+) and ([\d.]+)\)", text)
    if not found: return ["no per-network median and quartiles of W_1's step"]
    trials = int(found.group(2))
    if trials < 30: return [f"only {trials} networks"]
    W_1, W_2 = first_layer_norms(trials)
    right = np.percentile(W_2 / W_1, [50, 25, 75])             # per network, then the median
    stated = [float(v) for v in (found.group(1), found.group(3), found.group(4))]
    return [] if stated == [round(v, 1) for v in right] else [f"stated {stated}, per network {right.round(1)}"]


def test_the_first_layers_step_is_the_median_of_per_network_ratios_over_about_30_networks():
    assert vanishing_problems(saved_markdown(PAGE, "Across the weights of the hidden layers")) == []


def test_vanishing_problems_reject_a_ratio_of_medians_and_five_networks():
    text = saved_markdown(PAGE, "Across the weights of the hidden layers")
    W_1, W_2 = first_layer_norms(30)
    fragile = f"{np.median(W_2) / np.median(W_1):.1f}"        # medians from different networks
    stated = re.search(r"has a median of ([\d.]+)", text).group(1)
    assert fragile != stated and vanishing_problems(text.replace(f"of {stated} over", f"of {fragile} over"))
    assert vanishing_problems(text.replace("over the 30 networks", "over the 5 networks")) == ["only 5 networks"]
    assert vanishing_problems("The last step, to $W_1$, is 10.2 where") != []


def test_any_depth_states_both_subscript_rules_and_defines_p_ell_before_its_table():
    text = next(_text(c["source"]) for c in PAGE["cells"]
                if c["cell_type"] == "markdown" and _text(c["source"]).startswith("## Any depth"))
    table = text.index("| forward |")
    assert text.index(r"widths $p_\ell$") < table
    assert "Numbers name\nthe layer a weight feeds" in text or "Numbers name the layer a weight feeds" in text
    assert text.index("letters the layer it leaves") < table
