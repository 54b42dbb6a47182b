"""What the gradient-checking pages say, kept true (findings R2 10, 11, 15; R3 D2, D3): one name per symbol on
the page (ĝ_t for a central difference, θ for f's argument, ξ for the random direction), claims measured by
cells rather than typed in, a sentence whose numbers add up, and help() that says what the targets are.

The pages are read as committed (markdown, shown code and saved outputs)."""
import dataclasses
import json
import pydoc
import re

import pytest

import docs_check as dc
from bpnotes.diagnosis import Diagnosis, check_backprop
from bpnotes.gradcheck import GradCheckReport, ParamCheck
from bpnotes.layers import backprop
from conftest import NBS


def page(name):
    return json.loads((NBS / f"{name}.ipynb").read_text())


def shown(name, kinds=("prose", "code", "caption")):
    "Everything a reader sees on a page, of the kinds given"
    return "\n".join(text for _, kind, text in dc.shown_text(page(name)) if kind in kinds)


def formulas(name):
    return [f for _, kind, text in dc.shown_text(page(name)) if kind in ("prose", "caption") for f in dc.maths(text)]


# ---- R2 10: one letter, one meaning, on the gradient-checking page ----

def test_the_central_difference_is_g_hat_t_everywhere_on_the_page():
    text = shown("08_gradcheck")
    assert not [f for f in formulas("08_gradcheck") if re.search(r"(?<![A-Za-z\\])d_(?:t|\d|\{)", f)]
    assert not re.search(r"\bd_[1-4t]\b", text), re.findall(r".{30}\bd_[1-4t]\b.{10}", text)
    assert "ĝ_1" in shown("08_gradcheck", ("code",))                 # the printed output too


def test_f_takes_theta_and_the_random_direction_is_not_u():
    maths = formulas("08_gradcheck")
    assert not [f for f in maths if re.search(r"f\((?:x|\\theta)?\s*[+-]?\s*x|f\(x\b|f'\(x", f)]
    assert not [f for f in maths if re.search(r"(?<![A-Za-z\\])u(?![A-Za-z])", f)]
    assert any("\\theta + t\\epsilon" in f for f in maths) and any("\\xi" in f for f in maths)


def test_machine_epsilon_is_a_word_not_a_second_epsilon():
    assert not [f for f in formulas("08_gradcheck") if "machine" in f]


def test_the_column_of_ones_is_a_column_on_the_mistakes_page():
    prose = shown("09_mistakes", ("prose",))
    assert "matrix of ones" not in prose
    assert re.search(r"\\mathbf 1\$ a column of \$n\$ ones", prose)


# ---- R2 11: what a sampled check can miss, measured ----

def test_the_sampling_claim_is_a_measurement_not_a_promise():
    prose = shown("08_gradcheck", ("prose",))
    assert "an error confined to a few entries the sample missed still shows" not in prose
    measured = re.search(r"a single wrong entry of typical size was caught (\d+) times in (\d+), "
                         r"ten of them (\d+) times", prose)
    assert measured, "the sentence on sampling is not generated from its measurement"
    one, trials, ten = map(int, measured.groups())
    assert 0 < one < trials and one <= ten <= trials


# ---- R2 15: the sentence on the slips that give the right numbers adds up ----

def test_every_slip_variant_is_counted_once_in_the_diagnosis_page_sentence():
    out = next(text for _, kind, text in dc.shown_text(page("09b_diagnosis"))
               if kind == "prose" and text.startswith("Of the "))
    total, never, always = map(int, re.search(r"Of the (\d+) ways.*?, (\d+) never gave the right numbers.*?; "
                                              r"(\d+) gave them on every draw", out, flags=re.S).groups())
    table = out.split("| the slip | gives the right numbers when |")[1].split("\n\n")[0]
    assert len([row for row in table.splitlines() if row.startswith("| ") and "---" not in row]) == always
    (others,) = map(int, re.search(r"The other (\d+) gave the right numbers on some draws only", out).groups())
    listed = re.search(r"only:\n\n((?:- .*\n)+)", out).group(1).splitlines()
    assert len(listed) == others and never + always + others == total
    assert "dead" in out


# ---- R3 D2, D3: help() says what the targets are, and what a report holds ----

@pytest.mark.parametrize("fn", [check_backprop, backprop])
def test_help_gives_the_targets_shape_for_every_loss(fn):
    text = pydoc.render_doc(fn, renderer=pydoc.plaintext)
    y = text.split("    Y : ")[1].split("\n    phi")[0]
    for loss, shape in [("mse", "(B, n)"), ("binary_cross_entropy", "[0, 1]"), ("softmax_cross_entropy", "(B,)")]:
        assert loss in y and shape in y, y


@pytest.mark.parametrize("cls", [GradCheckReport, ParamCheck, Diagnosis])
def test_help_lists_every_field_of_the_records_a_check_returns(cls):
    text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    for field in dataclasses.fields(cls):
        assert re.search(rf"\n \|  {field.name} : ", text), field.name
