"""The notation page and the pages, kept in step: no page uses a retired symbol, and every symbol a page's formulas
use is listed on the notation page, once. The second half shows each check failing on a page with that defect.

The pages are read as committed (markdown, captions, shown code, saved outputs), without nbdev's processing.
"""
import json

import pytest

import docs_check as dc
from docs_check import source
from conftest import NBS, notebooks

PAGES = {p.name: json.loads(p.read_text()) for p in notebooks()}
NOTATION = PAGES["notation.ipynb"]

# Pages allowed to break these tests while they are being moved to the notation scheme, by page with what they use
# (strict: an unexpected pass fails). Empty: every page follows the scheme.
RETIRED_ON = {}
UNLISTED_ON = {}


def by_page(expected_to_fail):
    return [pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=expected_to_fail[name]))
            if name in expected_to_fail else name for name in PAGES]


@pytest.mark.parametrize("name", by_page(RETIRED_ON))
def test_no_page_uses_a_retired_symbol(name):
    skip = {"notation.ipynb": dc.retired_cells(NOTATION)}
    problems = dc.check_retired({name: PAGES[name]}, skip=skip)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("name", by_page(UNLISTED_ON))
def test_every_symbol_of_a_page_is_on_the_notation_page(name):
    problems = dc.check_symbols_listed({name: PAGES[name]}, NOTATION)
    assert problems == [], "\n".join(problems)


def test_the_notation_page_lists_each_symbol_once_and_retires_some():
    table, problems = dc.notation_table(NOTATION)
    assert problems == []
    assert {"W_i", "W_h", "p_\\ell", "\\delta_o", "\\mathcal L", "q", "\\mu", "\\kappa", "\\gamma"} <= set(table)
    assert dc.retired_cells(NOTATION), "the notation page has no table of retired symbols"
    assert dc.check_retired({"notation.ipynb": NOTATION}) != [], "the retired table shows no retired symbol"


def test_notation_pages_are_the_site():
    assert set(PAGES) == {p.name for p in NBS.glob("*.ipynb") if not p.name.startswith(("_", "."))}


# ---- the checks themselves: each fails on a page with its defect ----

def page(*cells):
    return {"cells": [{"cell_type": "raw", "source": "---\ntitle: t\ndescription: d\n---"}, *cells]}


def md(text): return {"cell_type": "markdown", "source": text}
def code(text, outputs=()): return {"cell_type": "code", "source": text, "outputs": list(outputs)}


@pytest.mark.parametrize("cell, found", [
    (md("layer widths $w_0, \\dots, w_D$"), "w_0"),
    (md("$$F = B\\sum_\\ell w_{\\ell-1}w_\\ell$$"), "w_{\\ell"),
    (md("the weight $(W_i)_{aj}$"), "_{aj}"),
    (md("from $x_a$ to $h_j$"), "x_a"),
    (md("the slope $\\psi'(z_k)$"), "z_k"),
    (md("$Z_{o,sk}$"), "Z_{o,"),
    (md("$\\mathcal L = \\sum_{s,k} (o_{sk} - y_{sk})^2$"), "o_{sk"),
    (md("subtract the row maximum $c$"), "c"),
    (md("$R_\\ell = B\\prod_{k=\\ell+1}^D p_k$"), "k=\\ell"),
    (md("$L$ layers"), "L"),
    (md("$\\theta = \\begin{pmatrix} W \\\\ b \\end{pmatrix}$"), "\\theta"),
    (code('#| fig-cap: "weights $\\\\mathcal N(0, g^2/64)$"\nplot()'), "g^"),
    (code("#| code-fold: true\nfor a, b in zip(sizes, sizes[1:]): pass"), "for a, b in zip("),
    (code("L = len(net.sizes) - 1"), "L = len("),
    (code("print(table)", [{"output_type": "stream", "text": "do_l/db_h[k] = [l=k] psi'(z_k)  PASS"}]), "z_k"),
    (code('rows = ["do_l/dh_r = psi\'(z_l) W_h[r,l]"]'), "z_l"),
    (code('"softmax: e^{z_l} / Σ_k e^{z_{k}}"'), "z_l"),
    (code('print("e^{z_{k}}")'), "z_{k}"),
    (md("the slope `psi'(z_k)` of the output"), "z_k"),
    (code("show_doc(f)", [{"output_type": "display_data", "data": {"text/markdown": "widths w_ℓ"}}]), "w_ℓ"),
    (code("#| echo: false\nprint(1)", [{"output_type": "stream", "text": "L = len(sizes)"}]), "L = len("),
])
def test_check_retired_finds_each_retired_form(cell, found):
    problems = dc.check_retired({"bad.ipynb": page(cell)})
    assert len(problems) >= 1 and repr(found)[1:-1] in problems[0], problems


def test_check_retired_passes_the_forms_that_replace_them():
    good = page(md("$p_0, \\dots, p_D$, $(W_i)_{qj}$, $x_q$, $\\psi'((z_o)_k)$, $(Z_o)_{sk}$, $O_{sk}$, $\\mu$, "
                   "$\\mathcal L$, $\\mathcal{L}$, $W_{h_1}$, Mazur's $w_1, \\dots, w_8$, $\\cdot$, "
                   "$\\operatorname{onehot}(y)$, $\\text{cost}$, $b_h$, $\\gamma$, $\\sigma(z)$"),
                code("for fan_in, fan_out in zip(sizes, sizes[1:]): pass\nD = len(net.sizes) - 1\n"
                     "z_o[k], z_h, Z_o, z_1, z_before, xyz_k = 0, 0, 0, 0, 0, 0"),
                code("#| hide\nL = len(sizes)"), code("#| export\nL = len(sizes)"))
    assert dc.check_retired({"good.ipynb": good}) == []


def test_check_retired_leaves_out_the_cells_it_is_told_to():
    nb = page(md("## Retired symbols\n\n| $w_\\ell$ | width | $p_\\ell$ |"))
    assert dc.check_retired({"n.ipynb": nb}) != []
    assert dc.check_retired({"n.ipynb": nb}, skip={"n.ipynb": dc.retired_cells(nb)}) == []


def test_check_symbols_listed_finds_an_unlisted_symbol_and_a_symbol_listed_twice():
    notation = page(md("## Symbols\n\n| symbol | meaning |\n|---|---|\n| $x$, $X$ | input |\n| $W_h$ | weights |\n"
                       "| $\\mathcal L$ | loss |\n| $h$ | hidden |\n\n## Retired\n\n| $\\kappa$ | old |"))
    assert dc.check_symbols_listed({"ok.ipynb": page(md("$\\mathcal L(xW_h)$ and $X^\\top$"))}, notation) == []
    problems = dc.check_symbols_listed({"bad.ipynb": page(md("$\\kappa x$, and $\\mu$"),
                                                          code('#| fig-cap: "slope $Q$"\nplot()'))}, notation)
    assert problems == ["bad.ipynb: $Q$ (cells 2) is not on the notation page",
                        "bad.ipynb: $\\kappa$ (cells 1) is not on the notation page",
                        "bad.ipynb: $\\mu$ (cells 1) is not on the notation page"]
    twice = page(md("| symbol | meaning |\n|---|---|\n| $x$ | input |\n| $x$ | something else |"))
    assert dc.check_symbols_listed({}, twice) == ["the notation page lists $x$ twice"]


def test_check_symbols_listed_finds_an_unlisted_norm_inner_product_and_operator():
    uses = page(md("$\\lVert g\\rVert^2$, $\\langle g, \\xi\\rangle$ and $\\operatorname{tr}(W)$"))
    bare = page(md("| symbol | meaning |\n|---|---|\n| $g$ | gradient |\n| $\\xi$ | direction |\n| $W$ | weights |"))
    problems = dc.check_symbols_listed({"bad.ipynb": uses}, bare)
    assert problems == ["bad.ipynb: $\\operatorname{tr}$ (cells 1) is not on the notation page",
                        "bad.ipynb: $‖·‖$ (cells 1) is not on the notation page",
                        "bad.ipynb: $⟨·,·⟩$ (cells 1) is not on the notation page"]
    listed = page(md(source(bare["cells"][1]) + "\n| $\\lVert\\cdot\\rVert$ | norm |\n"
                     "| $\\langle\\cdot,\\cdot\\rangle$ | inner product |\n| $\\operatorname{tr}$ | trace |"))
    assert dc.check_symbols_listed({"ok.ipynb": uses}, listed) == []
    assert dc.check_symbols_listed({"ok.ipynb": page(md("$\\|g\\|$ and ‖g‖ in $‖g‖$"))}, listed) == []
