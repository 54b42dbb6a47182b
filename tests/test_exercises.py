"""Exercises to hand in (issue 20, part 3): each grader passes a right answer with no diagnosis, fails each wrong
answer the section pages show (and more) and names its slip, and says "not implemented yet" for a stub; on non-square
shapes, with batches of 7 rows and of one.

The right answers here are written with plain numpy, independently of the package; the wrong ones are the right ones
with one slip made by hand."""
import json
import re

import numpy as np
import pytest

import docs_check as dc
from bpnotes.diagnosis import SLIPS
from bpnotes.exercises import (EXERCISE_SLIPS, EXERCISES, VOCABULARY, ExerciseReport, grade_answers,
                               grade_d_output_d_hidden, grade_dL_db_h, grade_dL_dW_h, grade_dL_dX,
                               input_grad_with_slip)
from bpnotes.gradcheck import numeric_grad, two_layer_problem
from bpnotes.layers import two_layer_loss
from conftest import NBS

sigmoid = lambda z: 1 / (1 + np.exp(-z))
ACT = {'tanh': np.tanh, 'sigmoid': sigmoid, 'relu': lambda z: np.maximum(z, 0), 'identity': lambda z: z}
SLOPE = {'tanh': lambda z: 1 - np.tanh(z) ** 2, 'sigmoid': lambda z: sigmoid(z) * (1 - sigmoid(z)),
         'relu': lambda z: (np.asarray(z) > 0).astype(np.result_type(z, np.float16)), 'identity': lambda z: np.ones_like(z)}
GRAD_FROM_OUTPUT = {'tanh': lambda a: 1 - a ** 2, 'sigmoid': lambda a: a * (1 - a), 'relu': lambda a: (a > 0) * 1.0,
                    'identity': lambda a: np.ones_like(a)}     # a slope from the activation a, as backprop takes it
NAMED_SLIPS = set(SLIPS) | set(EXERCISE_SLIPS)       # the names made by making a slip, not read off the numbers


# ---- right answers, written from the formulas of the pages ----

def d_output_d_hidden(h, W_h, b_h, l, j, psi='identity'):
    return float(SLOPE[psi](h @ W_h[:, l] + b_h[l])) * W_h[j, l]


def dL_db_h(O, Y):
    return 2 * (O - Y).sum(axis=0) / O.size


def dL_dW_h(H, W_h, b_h, Y):
    return 2 / Y.size * H.T @ (H @ W_h + b_h - Y)


def deltas(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss):
    "(Z_h, H, Z_o, O, ∂L/∂O) of the notes' network"
    Z_h = X @ W_i + b_i
    H = ACT[phi](Z_h)
    Z_o = H @ W_h + b_h
    O = ACT[psi](Z_o)
    if loss == 'mse':
        dL_dO = 2 * (O - Y) / O.size
    elif loss == 'binary_cross_entropy':      # on logits: (σ(Z_o) − Y)/(B·n)
        dL_dO = (sigmoid(Z_o) - Y) / Z_o.size
    else:                                     # softmax cross-entropy on logits
        P = np.exp(Z_o - Z_o.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        dL_dO = (P - np.eye(O.shape[1], dtype=P.dtype)[Y]) / len(Y)
    return Z_h, H, Z_o, O, dL_dO


def dL_dX(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
    Z_h, H, Z_o, O, dL_dO = deltas(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)
    delta_o = dL_dO * SLOPE[psi](Z_o)
    return (delta_o @ W_h.T * SLOPE[phi](Z_h)) @ W_i.T


RIGHT = {'d_output_d_hidden': d_output_d_hidden, 'dL_db_h': dL_db_h, 'dL_dW_h': dL_dW_h, 'dL_dX': dL_dX}
SIZED = {'dL_db_h', 'dL_dW_h', 'dL_dX'}          # the graders that take a batch size


# ---- wrong answers: one slip each, and what the report must name ----

def input_grad(slope_o=None, slope_h=None, dL_dO_times=1.0, through_W_h=True, last_transposed=True):
    "A dL_dX with the slopes, the factor on ∂L/∂O, or a step back changed"
    def answer(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
        Z_h, H, Z_o, O, dL_dO = deltas(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)
        delta_o = dL_dO * dL_dO_times * (slope_o or (lambda Z, A, phi, psi: SLOPE[psi](Z)))(Z_o, O, phi, psi)
        back = delta_o @ (W_h.T if through_W_h else np.ones(W_h.T.shape))
        delta_h = back * (slope_h or (lambda Z, A, phi, psi: SLOPE[phi](Z)))(Z_h, H, phi, psi)
        return delta_h @ W_i.T if last_transposed else delta_h @ W_i
    return answer


WRONG = {
    'd_output_d_hidden': [
        ("the slope left out (section 1's page)", lambda h, W_h, b_h, l, j, psi: W_h[j, l],
         {"forgot psi'", 'constant factor'}),
        ("the slope at o_l, not at (z_o)_l",
         lambda h, W_h, b_h, l, j, psi: float(SLOPE[psi](ACT[psi](h @ W_h[:, l] + b_h[l]))) * W_h[j, l],
         {"psi'(o) for psi'(z)", 'constant factor'}),
        ("every output's route added",
         lambda h, W_h, b_h, l, j, psi: sum(d_output_d_hidden(h, W_h, b_h, k, j, psi) for k in range(W_h.shape[1])),
         {'every output summed'}),
        ("the wrong sign", lambda *args: -d_output_d_hidden(*args), {'sign flipped'}),
    ],
    'dL_db_h': [
        ("1/B where 1/(B·n) belongs (section 2's page)", lambda O, Y: 2 * (O - Y).sum(axis=0) / len(O),
         {'factor n'}),
        ("δ_o not summed over the rows", lambda O, Y: 2 * (O - Y) / O.size, {'bias not summed'}),
        ("a sum over the rows, no mean", lambda O, Y: 2 * (O - Y).sum(axis=0) / O.shape[1],
         {'sum instead of mean', 'factor B'}),
        ("the mean's 1/B taken twice (a 1/B factor)", lambda O, Y: dL_db_h(O, Y) / len(O), {'factor 1/B'}),
        ("y − o for o − y", lambda O, Y: dL_db_h(Y, O), {'sign flipped'}),
    ],
    'dL_dW_h': [
        ("δ_oᵀH, transposed (section 3's page)", lambda H, W_h, b_h, Y: 2 / Y.size * (H @ W_h + b_h - Y).T @ H,
         {'missing transpose', 'transposed'}),
        ("a 1/B factor", lambda H, W_h, b_h, Y: dL_dW_h(H, W_h, b_h, Y) / len(H), {'factor 1/B'}),
        ("the 2 of the square left out", lambda *args: dL_dW_h(*args) / 2, {'factor 1/2'}),
        ("a sum over the rows, no mean", lambda H, W_h, b_h, Y: len(H) * dL_dW_h(H, W_h, b_h, Y),
         {'sum instead of mean', 'factor B'}),
    ],
    'dL_dX': [
        ("φ and ψ swapped (section 4's page): φ's slope formula from O, ψ's from H",
         input_grad(slope_o=lambda Z, A, phi, psi: GRAD_FROM_OUTPUT[phi](A),
                    slope_h=lambda Z, A, phi, psi: GRAD_FROM_OUTPUT[psi](A)),
         {'phi and psi swapped'}),
        ("φ and ψ swapped, each slope at its Z",
         input_grad(slope_o=lambda Z, A, phi, psi: SLOPE[phi](Z), slope_h=lambda Z, A, phi, psi: SLOPE[psi](Z)),
         {'phi and psi swapped'}),
        ("φ' left out of δ_h", input_grad(slope_h=lambda Z, A, phi, psi: 1.0),
         {"forgot phi'"}),              # with ψ = identity it is 'swapped' too: the ψ = tanh case tells them apart
        ("φ' taken at H = φ(Z_h)", input_grad(slope_h=lambda Z, A, phi, psi: SLOPE[phi](A)),
         {"phi'(a) for phi'(z)"}),
        ("the sum over the rows, no mean", input_grad(dL_dO_times=7.0), {'sum instead of mean', 'factor B'}),
        ("a 1/B factor", lambda *args: dL_dX(*args) / 7, {'factor 1/B'}),
        ("δ_o not sent back through W_hᵀ", input_grad(through_W_h=False), {'delta not through W^T'}),
        ("the result transposed", lambda *args: dL_dX(*args).T, {'transposed'}),
    ],
}
GRADERS = {'d_output_d_hidden': grade_d_output_d_hidden, 'dL_db_h': grade_dL_db_h, 'dL_dW_h': grade_dL_dW_h,
           'dL_dX': grade_dL_dX}
CASES = [(name, what, wrong, named) for name, rows in WRONG.items() for what, wrong, named in rows]


def lines_fit(report):
    return max(len(line) for line in str(report).splitlines()) <= 80


@pytest.mark.parametrize("name", EXERCISES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_right_answer_passes_with_no_diagnosis(name, seed):
    for B in ((7, 1) if name in SIZED else (None,)):
        report = GRADERS[name](RIGHT[name], seed=seed, **({} if B is None else {'B': B}))
        assert report.ok and report.verdict == 'passed' and report.diagnosis is None, str(report)
        assert report.check.ok and report.reference_error <= 1e-10
        assert str(report).startswith(f"{name} ({EXERCISES[name].where}): passed") and lines_fit(report)


@pytest.mark.parametrize("name, what, wrong, named", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_a_wrong_answer_fails_and_its_slip_is_named(name, what, wrong, named):
    report = GRADERS[name](wrong)
    assert not report.ok and report.verdict == 'failed'
    assert report.diagnosis is not None and report.diagnosis.names == named, str(report)
    text = str(report)
    assert "FAILED" in text and "diagnosis: " in text and lines_fit(report)
    assert f"see https://bpnotes.github.io/bpnotes/{EXERCISES[name].derivation}" in text
    slip, flat = named & NAMED_SLIPS, " ".join(text.split())
    if slip:                                              # a slip that fits is the one diagnosis printed
        assert re.search(r"diagnosis: [^.]*, which gives exactly your numbers", flat)
        assert all(name in flat for name in slip)


@pytest.mark.parametrize("name, wrong, named", [
    ('dL_db_h', WRONG['dL_db_h'][0][1], {'factor n'}),
    ('dL_dW_h', WRONG['dL_dW_h'][0][1], {'missing transpose', 'transposed'}),
    ('dL_dX', WRONG['dL_dX'][0][1], {'phi and psi swapped'}),
    ('dL_dX', WRONG['dL_dX'][6][1], {'delta not through W^T'}),
])
def test_with_one_row_the_wrong_answers_still_fail_and_are_named(name, wrong, named):
    report = GRADERS[name](wrong, B=1)
    assert not report.ok and report.diagnosis.names == named and "B = 1" in report.case


def test_with_one_row_a_sum_over_the_rows_is_the_mean_and_passes_that_case():
    "With B = 1 the slip gives the right numbers, so that case passes; the second size fails it"
    summed = WRONG['dL_db_h'][2][1]
    assert grade_dL_db_h(summed, B=1).passed == ('B = 1, n = 3',) and not grade_dL_db_h(summed, B=7).ok
    assert not grade_dL_db_h(summed, B=1).ok                 # its second size, B = 4, n = 2, tells it


def test_a_slip_that_shows_only_for_one_loss_fails_there():
    "dL_dX right for the mean squared error but with the softmax's one-hot left out: the third case fails"
    def no_onehot(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
        if loss != 'softmax_cross_entropy': return dL_dX(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)
        Z_h = X @ W_i + b_i
        Z_o = ACT[phi](Z_h) @ W_h + b_h                       # ψ = identity: the logits
        P = np.exp(Z_o - Z_o.max(1, keepdims=True))
        delta_o = P / P.sum(1, keepdims=True) / len(X)
        return (delta_o @ W_h.T * SLOPE[phi](Z_h)) @ W_i.T
    report = grade_dL_dX(no_onehot)
    assert not report.ok and 'softmax_cross_entropy' in report.case
    assert 'softmax without one-hot' in report.diagnosis.names


@pytest.mark.parametrize("name", EXERCISES)
def test_noise_is_failed_but_never_given_a_slip(name):
    "A diagnosis speaks only when a slip reproduces the numbers: right answers plus noise get none"
    rng = np.random.default_rng(0)
    for _ in range(5):
        noisy = lambda *args: np.asarray(RIGHT[name](*args)) * (1 + 1e-3 * rng.standard_normal())
        if name == 'd_output_d_hidden':
            noisy = lambda *args: RIGHT[name](*args) * (1 + 1e-3 * rng.standard_normal())
        report = GRADERS[name](noisy)
        assert not report.ok
        assert report.diagnosis is None or not (report.diagnosis.names & NAMED_SLIPS), str(report)


@pytest.mark.parametrize("name", EXERCISES)
def test_an_unfilled_stub_is_not_implemented_yet_not_a_traceback(name):
    def stub(*args, **kwargs): ...
    def raising(*args, **kwargs): raise NotImplementedError
    for fn, why in [(stub, "it returned None"), (raising, "it raises NotImplementedError")]:
        report = GRADERS[name](fn)
        assert report.verdict == 'not implemented' and not report.ok and report.check is None
        text = " ".join(str(report).split())
        assert text == f"{name} ({EXERCISES[name].where}): not implemented yet ({why})" and lines_fit(report)


def test_an_error_in_your_code_is_reported_with_its_line():
    def indices_swapped(h, W_h, b_h, l, j, psi='identity'):
        slope = SLOPE[psi](h @ W_h[:, l] + b_h[l])
        return slope * W_h[l, j]                         # W_h is (5, 2): j = 2 is out of range
    report = grade_d_output_d_hidden(indices_swapped)
    text = " ".join(str(report).split())
    assert report.verdict == 'failed' and report.check is None and report.diagnosis is None
    assert "raised IndexError at line 3 of indices_swapped: `return slope * W_h[l, j]" in text
    assert "it must return ∂o_l/∂h_j, one number" in text
    assert re.search(r"`return slope \* W_h\[l, j\][^`\n]*`", str(report))  # as you wrote it, never broken (R6 3)
    assert "\n  W_h has shape (p, n) = (5, 2); the weight from h_j to o_l is W_h[j, l]\n" in str(report)
    report = grade_dL_dX(input_grad(last_transposed=False))       # δ_h W_i: (7, 5) @ (3, 5)
    assert report.verdict == 'failed' and "raised ValueError" in str(report) and "matmul" in str(report)


def test_an_answer_of_the_wrong_kind_is_told_so():
    report = grade_d_output_d_hidden(lambda h, W_h, b_h, l, j, psi: W_h[:, l])
    assert report.verdict == 'failed' and "returned an array of shape (5,), not one number" in str(report)
    report = grade_dL_db_h(lambda O, Y: "two")
    assert report.verdict == 'failed' and "returned a str, not numbers" in str(report)


def test_a_finite_difference_handed_in_is_close_but_not_the_formula():
    "check_grads passes it; only the reference formula, to 1e-10, tells it apart"
    def nudged(H, W_h, b_h, Y):
        return numeric_grad(lambda W: np.mean((H @ W + b_h - Y) ** 2), W_h, eps=1e-7, order=2)
    report = grade_dL_dW_h(nudged)
    assert report.check.ok and not report.ok and report.diagnosis is None
    assert 1e-10 < report.reference_error < 1e-6 and "close, but not the formula" in str(report)


def test_input_grad_with_slip_without_a_slip_is_the_gradient():
    "The slips of section 4 are made in a formula that, without one, agrees with finite differences of the loss"
    for phi, psi, loss in [('tanh', 'identity', 'mse'), ('sigmoid', 'tanh', 'mse'),
                           ('relu', 'identity', 'softmax_cross_entropy')]:
        for B in (7, 1):
            args, Y = two_layer_problem(B, 3, 5, 2, loss, phi, margin=0.05, seed=3)
            mine = input_grad_with_slip(*args, Y, phi, psi, loss)
            numeric = numeric_grad(lambda X: two_layer_loss(X, *args[1:], Y, phi, psi, loss), args[0])
            assert mine.shape == (B, 3) and np.abs(mine - numeric).max() <= 1e-9 * np.abs(numeric).max()
            assert np.allclose(mine, dL_dX(*args, Y, phi, psi, loss), rtol=1e-12, atol=0)


def test_every_slip_an_exercise_names_is_in_the_vocabulary_and_points_at_a_page_that_has_it():
    pages = {nb.name: json.loads(nb.read_text()) for nb in NBS.glob("*.ipynb")}
    by_html = {re.sub(r"^\d+[a-z]?_", "", name).replace(".ipynb", ".html"): nb for name, nb in pages.items()}
    targets = [p.page for p in EXERCISE_SLIPS.values()] + [e.derivation for e in EXERCISES.values()]
    for target in targets:
        page, _, anchor = target.partition("#")
        assert anchor in dc.anchors(by_html[page]), target
    assert set(VOCABULARY) >= {name for rows in WRONG.values() for *_, named in rows for name in named}


def test_grade_answers_finds_the_functions_by_name_in_section_order(tmp_path):
    file = tmp_path / "answers.py"
    file.write_text("def dL_dX(*args):\n    ...\n\n"
                    "def dL_db_h(O, Y):\n    return 2 * (O - Y).sum(axis=0) / O.size\n\n"
                    "def helper():\n    pass\n\nif __name__ == '__main__':\n    raise SystemExit('ran')\n")
    reports = grade_answers(str(file))
    assert [(r.exercise.name, r.verdict) for r in reports] == [('dL_db_h', 'passed'), ('dL_dX', 'not implemented')]
    assert all(isinstance(r, ExerciseReport) for r in reports)
    assert [r.exercise.name for r in grade_answers(RIGHT)] == list(EXERCISES) and all(
        r.ok for r in grade_answers(RIGHT))


# ---- the slips the reviewers' answers make (R4 5, R5 3, 4, 12, 14): each named, and what it says ----

def tanh_everywhere(h, W_h, b_h, l, j, psi='identity'):
    "Section 1 with tanh's slope hard-coded"
    return float(SLOPE['tanh'](h @ W_h[:, l] + b_h[l])) * W_h[j, l]


def phi_tanh_everywhere(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
    return dL_dX(X, W_i, b_i, W_h, b_h, Y, 'tanh', psi, loss)


SLIPPED = [   # (grader, what, the wrong answer, the slip named, words the report must hold)
    (grade_dL_db_h, "Nielsen's (O − Y).sum(0)/len(O)", lambda O, Y: (O - Y).sum(0) / len(O),
     ('half squared error',), ["a factor 2/n is missing"]),
    (grade_dL_dW_h, "Nielsen's Hᵀ(O − Y)/B", lambda H, W_h, b_h, Y: H.T @ (H @ W_h + b_h - Y) / len(H),
     ('half squared error',), ["a factor 2/n is missing"]),
    (grade_d_output_d_hidden, "ψ' taken at h_j",
     lambda h, W_h, b_h, l, j, psi: float(SLOPE[psi](h[j])) * W_h[j, l], ("psi' at h_j",),
     ["the hidden value h_j, not at the output's pre-activation (z_o)_l"]),
    (grade_d_output_d_hidden, "b_h left out of (z_o)_l",
     lambda h, W_h, b_h, l, j, psi: float(SLOPE[psi](h @ W_h[:, l])) * W_h[j, l], ('b_h left out',),
     ["without its bias b_h"]),
    (grade_dL_dW_h, "b_h left out of O", lambda H, W_h, b_h, Y: 2 / Y.size * H.T @ (H @ W_h - Y),
     ('b_h left out',), ["without its bias b_h"]),
    (grade_d_output_d_hidden, "tanh's slope whatever ψ", tanh_everywhere, ('psi hard-coded as tanh',),
     ["right for ψ = tanh; wrong for ψ = sigmoid, relu, identity", "Did you hard-code tanh?"]),
    (grade_dL_dX, "φ = tanh whatever φ", phi_tanh_everywhere, ('phi hard-coded as tanh',),
     ["right for φ = tanh, ψ = identity, mse, B = 7; φ = tanh, ψ = identity, binary_cross_entropy, B = 4; "
      "wrong for φ = sigmoid, ψ = tanh, mse, B = 4; φ = relu", "Did you hard-code tanh?"]),
    (grade_dL_dX, "ψ' left out of δ_o", input_grad(slope_o=lambda Z, A, phi, psi: 1.0),
     ("forgot psi' at the output",), ["FAILED, for φ = sigmoid, ψ = tanh, mse", "δ_o = ∂L/∂O ⊙ ψ'(Z_o)"]),
    (grade_dL_dX, "φ' left out of δ_h", input_grad(slope_h=lambda Z, A, phi, psi: 1.0),
     ("forgot phi'",), ["δ_h = (δ_o W_hᵀ) ⊙ φ'(Z_h)"]),
]


@pytest.mark.parametrize("grade, what, wrong, slip, words", SLIPPED, ids=[s[1] for s in SLIPPED])
def test_each_slip_a_student_made_is_named_alone(grade, what, wrong, slip, words):
    report = grade(wrong)
    flat = " ".join(str(report).split())
    assert report.verdict == 'failed' and report.diagnosis.findings[0].names == slip, flat
    assert f"diagnosis: {' / '.join(slip)}, which gives exactly your numbers" in flat and lines_fit(report)
    assert all(w in flat for w in words), flat


def test_forgot_phi_prime_is_told_apart_from_phi_and_psi_swapped_by_the_psi_tanh_case():
    "With ψ = identity both give the same numbers; in the case ψ = tanh only forgetting φ' does"
    forgot = grade_dL_dX(input_grad(slope_h=lambda Z, A, phi, psi: 1.0))
    swapped = grade_dL_dX(WRONG['dL_dX'][0][1])
    assert forgot.diagnosis.findings[0].names == ("forgot phi'",)
    assert swapped.diagnosis.findings[0].names == ('phi and psi swapped',)


def test_every_loss_the_signature_accepts_is_tried_and_a_wrong_bce_answer_fails_there():
    from bpnotes.exercises import INPUT_CASES
    from bpnotes.loss import LOSSES
    assert {loss for *_, loss in INPUT_CASES} == set(LOSSES)
    def bce_times_n(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):   # (σ(Z_o) − Y)/B
        g = dL_dX(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)
        return g * W_h.shape[1] if loss == 'binary_cross_entropy' else g
    report = grade_dL_dX(bce_times_n)
    flat = " ".join(str(report).split())
    assert not report.ok and 'binary_cross_entropy' in report.case and report.passed and report.failed == (report.case,)
    assert 'factor n' in report.diagnosis.names
    assert "Right: ∂L/∂Z_o = (σ(Z_o) − Y)/(B·n)" in flat and "MSE" not in flat and "2(O − Y)" not in flat, flat


def test_the_right_text_fits_the_loss_of_the_failing_case():
    def softmax_summed(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
        g = dL_dX(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)
        return g * len(X) if loss == 'softmax_cross_entropy' else g
    flat = " ".join(str(report := grade_dL_dX(softmax_summed)).split())
    assert report.diagnosis.findings[0].names == ('sum instead of mean',)
    assert "Right: ∂L/∂Z_o = (softmax(Z_o) − onehot(y))/B" in flat and "MSE" not in flat, flat
    flat = " ".join(str(grade_dL_dX(input_grad(dL_dO_times=7.0))).split())   # the MSE case: MSE's Right
    assert "Right: ∂L/∂O = 2(O − Y)/(B·n) for MSE" in flat, flat


def test_section_1_names_entries_one_way_and_says_psi_not_phi():
    "o_1 … o_n and h_1 … h_p as on paper, with the code's l and j (from 0) beside them"
    for what, wrong, _ in WRONG['d_output_d_hidden']:
        text = str(grade_d_output_d_hidden(wrong))
        assert "∂h[" not in text and not re.search(r"\bphi\b", text) and "φ" not in text, text
        for o, h, l, j in re.findall(r"∂o_(\d)/∂h_(\d) \(l = (\d), j = (\d)\)", text):
            assert (int(o), int(h)) == (int(l) + 1, int(j) + 1)
        assert re.search(r"∂o_\d/∂h_\d \(l = \d, j = \d\): yours", text), text


@pytest.mark.parametrize("grade, wrong, says", [
    (grade_dL_db_h, lambda O, Y: dL_db_h(O, Y)[None],
     "right numbers, wrong shape: yours has shape (1, 3); ∂L/∂b_h has b_h's shape (n,) = (3,)"),
    (grade_dL_db_h, lambda O, Y: dL_db_h(O, Y)[:, None],
     "right numbers, wrong shape: yours has shape (3, 1); ∂L/∂b_h has b_h's shape (n,) = (3,)"),
    (grade_dL_dW_h, lambda *args: dL_dW_h(*args).ravel(),
     "right numbers, wrong shape: yours has shape (15,); ∂L/∂W_h has W_h's shape (p, n) = (5, 3)"),
    (grade_dL_dX, lambda *args: dL_dX(*args).ravel(),
     "right numbers, wrong shape: yours has shape (28,); ∂L/∂X has X's shape (B, m) = (7, 4)"),
    (grade_dL_dX, lambda X, W_i, b_i, W_h, b_h, Y, phi, psi, loss: X.T @ (
        input_grad_with_slip(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss) @ np.linalg.pinv(W_i.T)),
     "yours has shape (4, 5), W_i's shape (m, p): ∂L/∂X has X's shape (B, m) = (7, 4)"),
])
def test_a_wrong_shape_says_which_shape_it_has_and_which_it_must_have(grade, wrong, says):
    report = grade(wrong)
    flat = " ".join(str(report).split())
    assert report.verdict == 'failed' and says in flat and lines_fit(report), flat
    assert "no simple pattern" not in flat and "close, but not the formula" not in flat


def in_float32(fn):
    "fn computed in float32: every float array it is given is cast first"
    cast = lambda a: a.astype(np.float32) if isinstance(a, np.ndarray) and a.dtype.kind == 'f' else a
    return lambda *args: fn(*map(cast, args))


@pytest.mark.parametrize("name", EXERCISES)
def test_a_right_answer_computed_in_float32_passes_and_says_so(name):
    for B in ((7, 1) if name in SIZED else (None,)):
        report = GRADERS[name](in_float32(RIGHT[name]), **({} if B is None else {'B': B}))
        flat = " ".join(str(report).split())
        assert report.ok and report.dtype == np.float32 and "returned as float32" in flat and "its dtype is how the grader knows" in flat, flat
        assert 1e-10 < report.reference_error <= 100 * np.finfo(np.float32).eps
        assert "close, but not the formula" not in flat


def test_float32_rounding_handed_back_as_float64_and_float16_are_told_what_they_are():
    back = lambda O, Y: dL_db_h(O.astype(np.float32), Y.astype(np.float32)).astype(np.float64)
    flat = " ".join(str(report := grade_dL_db_h(back)).split())
    assert not report.ok and "or the right formula computed in float32" in flat, flat
    half = lambda O, Y: dL_db_h(O.astype(np.float16), Y.astype(np.float16))
    flat = " ".join(str(report := grade_dL_db_h(half)).split())
    assert not report.ok and "the right formula's numbers at float16 precision, too coarse to grade" in flat, flat


def test_a_constant_factor_too_few_entries_could_show_is_read_off_the_reference():
    "b_h has 3 entries, fewer than a free factor needs against finite differences; the reference is exact"
    report = grade_dL_db_h(lambda O, Y: dL_db_h(O, Y) * 1.25)
    flat = " ".join(str(report).split())
    assert report.diagnosis.names == {'constant factor'}
    assert "every entry is 5/4 times the right formula's: a factor 4/5 missing" in flat, flat


# ---- R6 2 and 3: the wrong answers a student tried on the section pages, and the words their reports must say ----

ROWS = "right for B = 1, n = 3; wrong for B = 7, n = 3; B = 4, n = 2: check your sum over the rows"


def slope_of(psi, z): return float(SLOPE[psi](z))


def z_for_a(h, W_h, b_h, l, j, psi):
    "grad_from_output, which expects o_l = ψ((z_o)_l), fed (z_o)_l"
    return float(GRAD_FROM_OUTPUT[psi](np.asarray(h @ W_h[:, l] + b_h[l]))) * W_h[j, l]


def delta_o(H, W_h, b_h, Y): return 2 * (H @ W_h + b_h - Y) / Y.size


def dL_dX_z_for_a(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
    "dL_dX with each slope from grad_from_output, which expects the activation, fed the pre-activation"
    Z_h, H, Z_o, O, dL_dO = deltas(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)
    return ((dL_dO * GRAD_FROM_OUTPUT[psi](Z_o)) @ W_h.T * GRAD_FROM_OUTPUT[phi](Z_h)) @ W_i.T


def dL_dX_mse(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
    "dL_dX with MSE's ∂L/∂O whatever loss is passed"
    Z_h, H, Z_o, O, _ = deltas(X, W_i, b_i, W_h, b_h, Y, phi, psi, 'mse')
    dL_dO = 2 * (O - Y) / O.size
    return ((dL_dO * SLOPE[psi](Z_o)) @ W_h.T * SLOPE[phi](Z_h)) @ W_i.T


R6 = [   # (grader, what, the wrong answer, the slip named or None, words the report must hold)
    (grade_d_output_d_hidden, "slope * h[j] (slope times incoming activation)",
     lambda h, W_h, b_h, l, j, psi: slope_of(psi, h @ W_h[:, l] + b_h[l]) * h[j], 'h_j for (W_h)_jl',
     ["∂o_l/∂(W_h)_jl, the derivative by the weight"]),
    (grade_d_output_d_hidden, "z into grad_from_output", z_for_a, 'grad_from_output fed z',
     ["right for ψ = relu, identity; wrong for ψ = tanh, sigmoid", "fed (z_o)_l, not o_l = ψ((z_o)_l)",
      "Right: the slope ψ'((z_o)_l)"]),
    (grade_dL_dW_h, "the first row's outer product", lambda H, W_h, b_h, Y: np.outer(H[0], delta_o(H, W_h, b_h, Y)[0]),
     'one row only', [ROWS]),
    (grade_dL_dW_h, "the last row's (a loop that overwrites)",
     lambda H, W_h, b_h, Y: np.outer(H[-1], delta_o(H, W_h, b_h, Y)[-1]), 'one row only',
     [ROWS, "Σ_s h_sᵀ(δ_o)_s = Hᵀδ_o"]),
    (grade_dL_dW_h, "np.outer(H.sum(0), δ.sum(0))",
     lambda H, W_h, b_h, Y: np.outer(H.sum(0), delta_o(H, W_h, b_h, Y).sum(0)), 'rows summed before the product',
     [ROWS, "the cross terms"]),
    (grade_dL_dW_h, "W_h * (Hᵀδ)", lambda H, W_h, b_h, Y: W_h * (H.T @ delta_o(H, W_h, b_h, Y)), 'W_h multiplied in',
     ["W_h ⊙ Hᵀδ_o"]),
    (grade_dL_dW_h, "one row, δ scaled by 2/n: no slip, but B = 1 passes",
     lambda H, W_h, b_h, Y: np.outer(H[0], 2 * (H @ W_h + b_h - Y)[0] / Y.shape[1]), None,
     [ROWS]),
    (grade_dL_db_h, "summed over axis 1", lambda O, Y: 2 * (O - Y).sum(axis=1) / O.size, None,
     ["yours has shape (7,) = (B,): you summed over the outputs, not the rows; ∂L/∂b_h has b_h's shape (n,) = (3,)"]),
    (grade_dL_db_h, "averaged over axis 1", lambda O, Y: 2 * (O - Y).mean(axis=1) / len(O), None,
     ["yours has shape (7,) = (B,): you summed over the outputs, not the rows"]),
    (grade_dL_dX, "Z into grad_from_output", dL_dX_z_for_a, 'grad_from_output fed z',
     ["right for φ = relu, ψ = identity, softmax_cross_entropy, B = 7; wrong for φ = tanh", "ψ'(Z_o) = grad_from_output(O)"]),
    (grade_dL_dX, "the loss hard-coded as MSE", dL_dX_mse, 'loss hard-coded as mse',
     ["raised ValueError", "operands could not be broadcast",
      "right for φ = tanh, ψ = identity, mse, B = 7; φ = sigmoid, ψ = tanh, mse, B = 4; φ = identity, ψ = sigmoid, "
      "mse, B = 7; φ = sigmoid, ψ = relu, mse, B = 4; wrong for φ = relu",
      "which raises the same error here and gives exactly your numbers in every other case",
      "Did you hard-code mse?"]),
]


@pytest.mark.parametrize("grade, what, wrong, slip, words", R6, ids=[r[1] for r in R6])
def test_each_wrong_answer_of_r6_is_named(grade, what, wrong, slip, words):
    report = grade(wrong)
    flat = " ".join(str(report).split())
    assert report.verdict == 'failed' and lines_fit(report), flat
    if slip is None: assert report.diagnosis is None or not (report.diagnosis.names & NAMED_SLIPS), flat
    else: assert report.diagnosis.findings[0].names == (slip,), flat
    assert all(w in flat for w in words), flat
    assert "no simple pattern" not in flat, flat


def test_section_1_speaks_of_the_slope_not_of_delta_and_says_a_meaning_once():
    "δ arrives in section 3: a constant factor in section 1 is said in the slope's words, once for both outputs"
    factor = lambda h, W_h, b_h, l, j, psi: (1.1 + l) * d_output_d_hidden(h, W_h, b_h, l, j, psi)  # 1.1, 2.1
    text = str(report := grade_d_output_d_hidden(factor))
    flat = " ".join(text.split())
    assert [f.names for f in report.diagnosis.findings] == [('constant factor',)] * 2 and "δ" not in text, flat
    assert "11/10 times" in flat and "21/10 times" in flat, flat
    assert flat.count("a factor missing from the slope ψ'((z_o)_l)") == 1, flat


def test_an_answer_that_raises_is_given_a_slip_only_when_the_slip_raises_in_every_case_it_raised_in():
    "MSE hard-coded raises for softmax's labels but gives numbers for binary cross-entropy: it does not fit an "
    "answer that raises for both"
    def no_cross_entropy(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
        if loss != 'mse': raise ValueError("only mse")
        return dL_dX(X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)
    report = grade_dL_dX(no_cross_entropy)
    flat = " ".join(str(report).split())
    assert report.verdict == 'failed' and report.failed[1:] == ("φ = tanh, ψ = identity, binary_cross_entropy, B = 4",)
    assert report.diagnosis is None and "hard-coded" not in flat, flat


def test_with_one_row_graded_too_a_sum_that_is_right_with_every_batch_passes_both():
    report = grade_dL_dW_h(dL_dW_h)
    assert report.ok and report.case == "B = 7, n = 3; B = 1, n = 3; B = 4, n = 2 (p = 5)", str(report)


@pytest.mark.parametrize("grade, wrong, says", [
    (grade_dL_db_h, lambda O, Y: np.sum(dL_db_h(O, Y)), "yours is one number; ∂L/∂b_h has b_h's shape (n,) = (3,)"),
    (grade_dL_dW_h, lambda H, W_h, b_h, Y: np.zeros((2, 2)),
     "yours has shape (2, 2); ∂L/∂W_h has W_h's shape (p, n) = (5, 3)"),
])
def test_a_shape_no_array_has_is_said_alone(grade, wrong, says):
    flat = " ".join(str(report := grade(wrong)).split())
    assert report.verdict == 'failed' and says in flat and "no simple pattern" not in flat, flat
    assert "shape ()" not in flat


def test_a_shape_and_a_case_name_are_never_broken_across_lines():
    text = str(grade_dL_dX(lambda *args: dL_dX(*args).ravel()))
    assert re.search(r"\(7, 4\)", text) and not re.search(r"\(\d+,\n", text), text
    text = str(grade_dL_dX(dL_dX))
    assert not re.search(r"(φ|ψ|B)\n|\n\s*= ", text), text


# ---- R7 1: every activation is tried as φ and as ψ; R7 2: a size written as a number; R7 3: float32's dtype ----

def test_every_activation_is_tried_as_phi_and_as_psi_and_relu_keeps_its_margin():
    from bpnotes.derivations import MARGIN
    from bpnotes.exercises import INPUT_CASES
    acts = {'tanh', 'sigmoid', 'relu', 'identity'}
    assert {phi for phi, *_ in INPUT_CASES} == acts and {psi for _, psi, _ in INPUT_CASES} == acts
    args, Y = two_layer_problem(4, 4, 5, 3, 'mse', 'sigmoid', margin=MARGIN, seed=0)
    assert np.abs(args[0] @ args[1] + args[2]).min() >= MARGIN


def psi_slope_as_tanh(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
    "R7's answer: ψ' written as 1 − O² whenever ψ is not the identity"
    return input_grad(slope_o=lambda Z, A, phi, psi: 1.0 if psi == 'identity' else 1 - A ** 2)(
        X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)


def identity_phi_as_relu(X, W_i, b_i, W_h, b_h, Y, phi='tanh', psi='identity', loss='mse'):
    "R7's answer: φ = identity given ReLU's slope, H > 0"
    return input_grad(slope_h=lambda Z, A, phi, psi: (A > 0) * 1.0 if phi == 'identity' else SLOPE[phi](Z))(
        X, W_i, b_i, W_h, b_h, Y, phi, psi, loss)


@pytest.mark.parametrize("wrong, fails", [
    (psi_slope_as_tanh, ["φ = identity, ψ = sigmoid, mse, B = 7", "φ = sigmoid, ψ = relu, mse, B = 4"]),
    (identity_phi_as_relu, ["φ = identity, ψ = sigmoid, mse, B = 7"]),
])
def test_r7s_slopes_right_for_the_old_cases_fail_in_the_new_ones(wrong, fails):
    report = grade_dL_dX(wrong)
    flat = " ".join(str(report).split())
    assert not report.ok and list(report.failed) == fails and len(report.passed) == 6 - len(fails), flat
    assert report.diagnosis is None or not (report.diagnosis.names & NAMED_SLIPS), flat   # no slip makes it
    assert lines_fit(report)


SIZES = "right for B = 7, n = 3; wrong for B = 4, n = 2: did you write a size as a number?"


@pytest.mark.parametrize("grade, wrong, ratio, words", [
    (grade_dL_db_h, lambda O, Y: 2 * (O - Y).sum(0) / 21, "8/21", [SIZES]),
    (grade_dL_db_h, lambda O, Y: 2 * (O - Y).mean(0) / 3, "2/3", [SIZES]),
    (grade_dL_dW_h, lambda H, W_h, b_h, Y: 2 / 21 * H.T @ (H @ W_h + b_h - Y), "1/7",
     ["right for B = 7, n = 3; wrong for B = 1, n = 3; B = 4, n = 2: did you write a size as a number?"]),
    (grade_dL_dX, lambda X, *args: dL_dX(X, *args) * len(X) / 7, "4/7",
     ["wrong for φ = sigmoid, ψ = tanh, mse, B = 4", "B = 4: did you write a size as a number?"]),
])
def test_r7s_sizes_written_as_numbers_are_right_at_one_size_only_and_named(grade, wrong, ratio, words):
    report = grade(wrong)
    flat = " ".join(str(report).split())
    assert not report.ok and report.diagnosis.names == {'size hard-coded'} and lines_fit(report), flat
    assert f"diagnosis: size hard-coded: every entry is {ratio} times the right formula's" in flat, flat
    assert all(w in flat for w in words), flat


def test_a_factor_of_b_right_at_one_row_only_is_not_a_size_hard_coded():
    report = grade_dL_dW_h(lambda *args: dL_dW_h(*args) / len(args[0]))
    assert report.diagnosis.names == {'factor 1/B'} and "did you write a size" not in str(report), str(report)


def test_float32_numbers_returned_as_float64_fail_for_the_dtype_is_how_the_grader_knows():
    right32 = lambda O, Y: dL_db_h(O.astype(np.float32), Y.astype(np.float32))
    assert grade_dL_db_h(right32).ok and not grade_dL_db_h(lambda O, Y: right32(O, Y).astype(np.float64)).ok
