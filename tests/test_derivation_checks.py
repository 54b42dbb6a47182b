"""The derivation checks behind `bpnotes check` (issue 17, part 2): they pass on every seed tried, every
draw keeps away from ReLU's kink, and a wrong formula fails its row, whichever way its bar points."""
import json

import numpy as np
import pytest

import bpnotes.derivations as d
import bpnotes.gradcheck as gradcheck
from bpnotes.derivations import MARGIN, REJECT, TOL, derivation_checks, format_checks
from conftest import NBS

SEEDS = 200        # the derivations page says how many seeds the tests sweep: this many


def test_every_row_passes_on_200_seeds():
    "Every row on each seed, one combination of activation, loss and batch size per row (time: bench/check_seeds.py)"
    failures, counts = [], set()
    for seed in range(SEEDS):
        rows = derivation_checks(seed, per_row=1)
        counts.add(len(rows))
        failures += [(seed, r.equation, r.error) for r in rows if not r.passed]
    assert failures == [] and counts == {21}


@pytest.mark.parametrize("seed", [4, 36, 2026])
def test_every_combination_passes_on_the_seeds_that_once_failed(seed):
    rows = derivation_checks(seed)
    assert [r.equation for r in rows if not r.passed] == []


def test_every_draw_keeps_its_margin_from_the_kink(monkeypatch):
    "What the checks are handed, recorded where they use it: every pre-activation is 0.05 from 0"
    smallest = {}

    def record(name, z):
        smallest[name] = min(smallest.get(name, np.inf), float(np.abs(z).min()))

    def watch(name, f, pre_activations):
        def watched(*args, **kwargs):
            for z in pre_activations(*args): record(name, z)
            return f(*args, **kwargs)
        monkeypatch.setattr(d, name, watched)

    watch("d_output_d_weight", d.d_output_d_weight, lambda h, W, b, *_: [h @ W + b])
    watch("output_layer_grads", d.output_layer_grads, lambda H, W, b, *_: [H @ W + b])
    watch("check_mlp", d.check_mlp, lambda net, X, y: d._pre_activations(net, X, y))
    problem = gradcheck.two_layer_problem

    def recorded_problem(*args, margin=0.0, **kwargs):
        record("two_layer_problem", margin)
        return problem(*args, margin=margin, **kwargs)

    monkeypatch.setattr(gradcheck, "two_layer_problem", recorded_problem)
    for seed in range(20):
        derivation_checks(seed, per_row=2)
    assert MARGIN == 0.05                    # the margin the single-value checks always kept
    assert len(smallest) == 4 and min(smallest.values()) >= 0.05, smallest


def test_checks_are_fresh_and_reproducible():
    a, b = derivation_checks(seed=1, per_row=1), derivation_checks(seed=1, per_row=1)
    assert [r.error for r in a] == [r.error for r in b]
    assert [r.error for r in a] != [r.error for r in derivation_checks(seed=2, per_row=1)]


def test_a_wrong_formula_fails_its_row(monkeypatch):
    right = d.output_layer_grads
    monkeypatch.setattr(d, "output_layer_grads", lambda *args: tuple(2 * g for g in right(*args)))
    rows = {r.equation: r for r in derivation_checks(7, per_row=1)}
    assert not rows["H^T delta_o, sum delta_o vs per-value"].passed
    assert not rows["H^T delta_o, sum delta_o vs finite diff"].passed
    assert rows["three ways, phi = tanh"].passed                     # the other rows are untouched


@pytest.fixture
def drawn(monkeypatch):
    "What the erratum rows draw, recorded: {'args': [X, W_i, b_i, W_h, b_h], 'Y': Y}"
    drawn, problem = {}, d.two_layer_problem

    def recorded(*args, **kwargs):
        drawn["args"], drawn["Y"] = problem(*args, **kwargs)
        return drawn["args"], drawn["Y"]

    monkeypatch.setattr(d, "two_layer_problem", recorded)
    return drawn


def test_a_right_formula_fails_a_row_that_must_reject(monkeypatch, drawn):
    "The erratum rows pass only when the notes' formula is wrong: given the right one, they fail"
    monkeypatch.setattr(d, "notes_output_layer_grads",     # the right output layer, dL/dO included
                        lambda H, W_h, b_h: d.output_layer_grads(H, W_h, b_h, drawn["Y"]))
    rows = {r.equation: r for r in derivation_checks(7, per_row=1)}
    erratum = rows["erratum 1 (no dL/do factors) rejected"]
    assert erratum.large and erratum.tol == REJECT and erratum.error < 1e-9 and not erratum.passed


def test_the_table_shows_each_rows_bar_in_80_columns():
    rows = derivation_checks(3, per_row=1)
    table = format_checks(rows)
    assert max(map(len, table.splitlines())) <= 80 and "must be" in table.splitlines()[0]
    small = [line for line in table.splitlines() if f"<={TOL:.0e}" in line]
    large = [line for line in table.splitlines() if f">={REJECT:.0e}" in line]
    assert len(small) >= 15 and len(large) == 2 and "FAIL" not in table
    failed = format_checks([rows[0]._replace(passed=False)])
    assert failed.splitlines()[-1].endswith("FAIL")


@pytest.mark.parametrize("seed, per_row", [(-1, None), (1.5, None), (True, None), (1, 0), (1, -2)])
def test_a_bad_seed_or_count_is_refused_by_name(seed, per_row):
    with pytest.raises(ValueError, match="seed must be|per_row must be"):
        derivation_checks(seed, per_row)


def test_the_page_says_how_many_seeds_the_tests_sweep_and_how():
    page = json.loads((NBS / "09c_derivation_checks.ipynb").read_text())
    prose = " ".join("".join(c["source"]) for c in page["cells"] if c["cell_type"] == "markdown")
    assert f"on {SEEDS} seeds" in prose and "per_row=1" in prose
    assert "hundreds of seeds" not in prose and "near $10^{-6}$" not in prose
    assert "pass on its verdicts" in prose          # the two rows that run check_grads


def test_section_1_rows_name_the_output_entries_as_the_notation_does():
    rows = [r.equation for r in derivation_checks(5, per_row=1)]
    assert sum("psi'((z_o)_" in r for r in rows) == 3
    assert not any("z_o[" in r or "z_k" in r or "W_h[" in r for r in rows), rows


def test_the_second_erratum_row_reports_its_relative_error_against_finite_differences(monkeypatch, drawn):
    "The erratum's dL/dW_i is zero, so its relative error against the true gradient is exactly 1"
    rows = {r.equation: r for r in derivation_checks(7, per_row=1)}
    (name,) = [n for n in rows if n.startswith("erratum 2")]
    assert rows[name].error == 1.0 and rows[name].passed and "rejected" in name
    args, Y = drawn["args"], drawn["Y"]
    right = d.backprop(args[0], [tuple(args[1:3]), tuple(args[3:])], Y)[0][0]
    monkeypatch.setattr(d, "notes_hidden_layer_grads", lambda *a: right)   # the right dL/dW_i
    rows = {r.equation: r for r in derivation_checks(7, per_row=1)}
    assert rows[name].error < 1e-9 and not rows[name].passed
