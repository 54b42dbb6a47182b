"""Sections 1 and 2 (single_value, loss_derivative) say what the notes and the proofs page say, in the order a
student needs it, in the house style of the exercises. The pages are read as committed (markdown and saved outputs).
"""
import json
import math
import re

import numpy as np
import pytest

from conftest import NBS

PAGES = {name: json.loads((NBS / name).read_text()) for name in ("00_single_value.ipynb", "01_loss_derivative.ipynb")}
PROOFS = json.loads((NBS / "06_proofs.ipynb").read_text())

# Every symbol the original notes write (shared/seed/000_9d18c9304ea7cb23.txt, copied by hand): "let θ, W ∈ ℝⁿ";
# the update rule of W_{h_1} with α, 𝓛 and the outputs o_1 … o_n; the bias b_{h_1}; the stacks W_h, b_h, O_h of
# W_{h_1} … W_{h_n}, b_{h_1} … b_{h_n}, o_{h_1} … o_{h_n}; and ∂𝓛/∂W_i. No x, m, p, φ, ψ, z, h or b_i.
NOTES_SYMBOLS = {r"\theta", "W", "n", r"\mathbb R^n", r"\mathcal L", r"\alpha", "o", "o_1", "o_n",
                 "W_{h_1}", "W_{h_n}", "b_{h_1}", "b_{h_n}", "W_h", "b_h", "O_h", "o_{h_1}", "o_{h_n}", "W_i"}


def source(cell):
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def markdown(nb):
    return [source(c) for c in nb["cells"] if c["cell_type"] == "markdown"]


def sentence(text, start):
    "The sentence of `text` that begins with `start`, up to its full stop"
    i = text.index(start)
    return re.split(r"(?<=\.)\s", text[i:], maxsplit=1)[0]


def notes_claims(nb):
    "The symbols each 'the notes' text names …' sentence gives to the notes"
    found = []
    for text in markdown(nb):
        if "The notes' text names" in text:
            claim = sentence(text, "The notes' text names")
            for formula in re.findall(r"\$([^$]+)\$", claim):
                found += [s.strip() for s in formula.split(",") if s.strip() not in ("", r"\dots")]
    return found


def test_the_network_paragraph_gives_the_notes_only_symbols_they_write():
    claimed = notes_claims(PAGES["00_single_value.ipynb"])
    assert claimed, "section 1 no longer says which symbols the notes write"
    assert set(claimed) <= NOTES_SYMBOLS, set(claimed) - NOTES_SYMBOLS


def test_notes_claims_reject_a_symbol_the_notes_do_not_write():
    nb = json.loads(json.dumps(PAGES["00_single_value.ipynb"]))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown" and "The notes' text names" in source(cell):
            cell["source"] = source(cell).replace("the bias $b_h$", r"the bias $b_h$, the activation $\psi$")
    assert r"\psi" in set(notes_claims(nb)) - NOTES_SYMBOLS


def test_the_notes_shapes_are_in_a_collapsed_box_for_readers_of_the_notes():
    text = "\n".join(markdown(PAGES["00_single_value.ipynb"]))
    box = re.search(r'::: \{\.callout-note collapse="true"\}\n## For readers of the notes[^\n]*\n(.*?)\n:::', text, re.S)
    assert box and r"\theta, W \in \mathbb R^n" in box.group(1)
    outside = text.replace(box.group(0), "")
    assert r"\theta, W \in" not in outside and "W_{h_k}" not in outside


def callouts(nb):
    "(class, title) of every callout that opens a your-turn hint or solution"
    text = "\n".join(markdown(nb))
    return re.findall(r"^::: \{([^}]*)\}\n## (Hint|Solution)\s*$", text, re.M)


@pytest.mark.parametrize("name", PAGES)
def test_hints_are_collapsed_notes_and_solutions_collapsed_tips(name):
    found = callouts(PAGES[name])
    assert {title for _, title in found} == {"Hint", "Solution"}
    style = {"Hint": '.callout-note collapse="true"', "Solution": '.callout-tip collapse="true"'}
    assert [(cls, title) for cls, title in found if cls != style[title]] == []


def how_to_run_problems(name, nb):
    "What is missing around the page's first your-turn cell"
    cells = nb["cells"]
    first = next(i for i, c in enumerate(cells) if c["cell_type"] == "code" and "# your turn" in source(c))
    before = next(source(c) for c in reversed(cells[:first]) if c["cell_type"] == "markdown")
    sentence = (f"To try it, run this page's notebook (`nbs/{name}` in a clone of the repository, after "
                "`pip install -e .`), or save your function in a file and run `bpnotes grade FILE.py` "
                "([how](exercises.html)).")
    problems = [] if sentence in " ".join(before.split()) else ["no how-to-run sentence just before it"]
    first_line = source(cells[first]).splitlines()[0]
    grader = re.fullmatch(r"from bpnotes\.exercises import (grade_\w+)", first_line)
    if not grader: problems.append(f"its first line is {first_line!r}, not the grader's import")
    elif f"{grader.group(1)}(" not in source(cells[first]): problems.append("it does not call the grader it imports")
    return problems


@pytest.mark.parametrize("name", PAGES)
def test_the_first_your_turn_cell_says_how_to_run_it_and_imports_its_grader(name):
    assert how_to_run_problems(name, PAGES[name]) == []


def test_how_to_run_problems_finds_another_pages_file_name_and_a_missing_import():
    nb = json.loads(json.dumps(PAGES["01_loss_derivative.ipynb"]))
    assert how_to_run_problems("00_single_value.ipynb", nb) == ["no how-to-run sentence just before it"]
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "# your turn" in source(cell):
            cell["source"] = source(cell).replace("from bpnotes.exercises import grade_dL_db_h\n\n", "")
            break
    assert len(how_to_run_problems("01_loss_derivative.ipynb", nb)) == 1


def proof_rows():
    "(functions run, sizes) of every row of the proofs page's table, from its saved output"
    for cell in PROOFS["cells"]:
        for out in cell.get("outputs", []):
            md = out.get("data", {}).get("text/markdown", "")
            md = "".join(md) if isinstance(md, list) else md
            if md.startswith("| statement | code run | sizes |"):
                for row in md.splitlines()[2:]:
                    if row.startswith("|"):
                        cols = [c.strip() for c in row.strip("|").split("|")]
                        yield set(re.findall(r"`(\w+)`", cols[1])), cols[2]


def proofs_problems(text):
    "Names the proofs sentence of a page says are proved that the proofs page did not run (at every size)"
    rows = list(proof_rows())
    assert rows, "the proofs page has no table of what it proved"
    run = set().union(*(names for names, _ in rows))
    every_size = set().union(*(names for names, sizes in rows if sizes.startswith("every")))
    claim = text[text.index("The [proofs](proofs.html) page proves"):]
    problems = []
    for clause in re.split(r";", claim.split("\n\n")[0]):
        for name in re.findall(r"`(\w+)`", clause):
            if name == "tanh": continue            # named only as not proved: checked below
            if name not in run: problems.append(f"{name} is not run by the proofs page")
            if "every size" in clause and name not in every_size:
                problems.append(f"{name} is not proved at every size")
    if "`tanh`" in claim and "taken as given" not in claim: problems.append("tanh itself is said to be proved")
    return problems


@pytest.mark.parametrize("name", PAGES)
def test_the_proofs_sentence_names_only_what_the_proofs_page_proves(name):
    text = next(t for t in markdown(PAGES[name]) if "The [proofs](proofs.html) page proves" in t)
    assert proofs_problems(text) == []


def test_proofs_problems_finds_an_unrun_name_a_wrong_size_and_tanh_claimed():
    text = next(t for t in markdown(PAGES["01_loss_derivative.ipynb"]) if "page proves" in t)
    assert proofs_problems(text.replace("`mse_grad`", "`output_layer_grads_per_value`")) == [
        "output_layer_grads_per_value is not proved at every size"]
    assert proofs_problems(text.replace("`softmax_jacobian`", "`softmax`")) == ["softmax is not run by the proofs page"]
    one = next(t for t in markdown(PAGES["00_single_value.ipynb"]) if "page proves" in t)
    assert proofs_problems(one.replace("taken as given", "proved too")) == ["tanh itself is said to be proved"]


def position(nb, needle):
    return next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown" and needle in source(c))


def test_section_2_defines_B_and_the_mse_before_a_number_and_keeps_the_cross_entropies_after_the_update_rule():
    nb = PAGES["01_loss_derivative.ipynb"]
    number = position(nb, "**A number.**")
    assert position(nb, "a batch of $B$ examples") <= number
    assert position(nb, r"\frac{2\,(O_{sl} - Y_{sl})}{Bn}") <= number
    assert position(nb, "## The update rule, checked") < position(nb, "**Softmax cross-entropy**")
    jacobian = position(nb, "a full $n \\times n$ Jacobian")
    assert source(nb["cells"][jacobian]).startswith('::: {.callout-note collapse="true"}')


def test_section_1_writes_the_central_difference_in_theta_and_prints_its_accuracy():
    nb = PAGES["00_single_value.ipynb"]
    text = "\n".join(markdown(nb))
    assert "f'(x)" not in text and r"f(x + \epsilon)" not in text and r"f'(\theta)" in text
    assert "10^{-9}" not in text                         # the plain difference's accuracy is printed instead
    printed = [o.get("text", "") for c in nb["cells"] for o in c.get("outputs", [])]
    printed = ["".join(t) if isinstance(t, list) else t for t in printed]
    assert any(re.search(r"eps 1e-06: central_difference \d\.\de-\d+, numeric_grad \d\.\de-\d+\n"
                         r"eps 2e-03: central_difference \d\.\de-\d+, numeric_grad \d\.\de-\d+", t) for t in printed)
    assert any(re.match(r"\d+ derivatives per activation: \d+ outputs × \(\d+ weights \+ \d+ biases\)", t)
               for t in printed)


def by_hand_problems(md):
    "What a reader cannot redo by hand from the displayed x, W_i, b_i of section 1's 'One value, by hand'"
    num = r"(-?[\d.]+)"
    x = re.search(rf"x &= \({num},\\ {num}\)", md)
    W = re.search(rf"W_i = \\begin{{pmatrix}} {num} & {num}\\\\\s*{num} & {num} \\end{{pmatrix}}", md)
    b = re.search(rf"b_i = \({num},\\ {num}\)", md)
    h = re.search(rf"h &= \\sigma\(z_h\) = \({num},\\ {num}\)", md)
    if not (x and W and b and h): return ["x, W_i, b_i or h is not displayed"]
    x, b, h = [[float(v) for v in m.groups()] for m in (x, b, h)]
    W = [[float(v) for v in W.groups()[:2]], [float(v) for v in W.groups()[2:]]]
    z = [x[0] * W[0][j] + x[1] * W[1][j] + b[j] for j in range(2)]
    redone = [round(1 / (1 + math.exp(-v)), 6) for v in z]
    return [] if redone == h else [f"h redone by hand is {redone}, the page shows {h}"]


def test_section_1_shows_the_numbers_h_is_made_of():
    md = next("".join(o["data"]["text/markdown"]) for c in PAGES["00_single_value.ipynb"]["cells"]
              for o in c.get("outputs", []) if "W_i = \\begin{pmatrix}" in "".join(o.get("data", {}).get("text/markdown", "")))
    assert by_hand_problems(md) == []
    assert by_hand_problems(md.replace("0.15 & 0.25", "0.25 & 0.15")) != []      # W_i shown transposed
    assert by_hand_problems(md.replace("x &= (", "X &= (")) == ["x, W_i, b_i or h is not displayed"]


def test_section_1_states_the_step_numeric_grad_takes():
    from bpnotes.gradcheck import DEFAULT_EPS
    text = "\n".join(markdown(PAGES["00_single_value.ipynb"]))
    stated = re.search(r"`numeric_grad` takes \$\\epsilon = (\d)\\times10\^\{(-\d+)\}\$ for float64", text)
    assert stated and float(f"{stated.group(1)}e{stated.group(2)}") == DEFAULT_EPS[np.dtype(np.float64)]
