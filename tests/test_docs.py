"""The docs site, checked without Quarto: nbdev's own processing into `_proc/`, then checks on the result.

`nbdev-proc-nbs` would try to install Quarto, so the fixture calls nbdev's Python function `proc_nbs` on a
copy of the project. The second half of the file shows every check failing on a page with that defect.
"""
import importlib
import inspect
import json
import subprocess
import sys

import pytest

import docs_check as dc
from conftest import NBS, copy_project, modules, notebooks

MODULES = modules()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    "Every notebook as nbdev processes it for Quarto, by notebook name"
    tmp = copy_project(tmp_path_factory.mktemp("site"))
    result = subprocess.run([sys.executable, "-c", "from nbdev.serve import proc_nbs; proc_nbs(n_workers=0)"],
                            cwd=tmp, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    processed = {p.name: json.loads(p.read_text()) for p in (tmp / "_proc").glob("*.ipynb")}
    assert set(processed) == {p.name for p in notebooks()}
    return processed


def test_every_page_has_a_title_and_description(pages):
    assert dc.check_titles(pages) == []


def test_no_directive_leaks_into_visible_code(pages):
    assert dc.check_directives(pages) == []


def test_every_formula_is_balanced(pages):
    assert dc.check_latex(pages) == []


def test_every_figure_has_its_image_and_alt_text(pages):
    assert dc.check_figures(pages) == []


def test_relative_links_point_at_pages_and_anchors_that_exist(pages):
    assert dc.check_links(pages) == []


def test_sidebar_lists_every_page():
    assert dc.check_sidebar((NBS / "sidebar.yml").read_text(), [p.name for p in notebooks()]) == []


def public_names():
    for module in MODULES:
        mod = importlib.import_module(module)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not callable(obj):
                continue
            yield name
            if inspect.isclass(obj) and not issubclass(obj, tuple):
                yield from (f"{name}.{m}" for m, f in vars(obj).items() if callable(f) and not m.startswith("_"))
            elif inspect.isclass(obj):
                yield from (f"{name}.{m}" for m, f in vars(obj).items()
                            if inspect.isfunction(f) and not m.startswith("_") and f.__qualname__.startswith(name))


def test_every_public_name_is_documented_once(pages):
    "A show_doc entry, or its source shown on a page (then its methods are shown too), but not both"
    documented, shown = dc.documented_names(pages), dc.shown_names(pages)
    missing = [n for n in public_names() if n not in documented and n.split(".")[0] not in shown]
    assert missing == [], f"neither a show_doc entry nor shown source for {missing}"
    twice = sorted(documented & shown)
    assert twice == [], f"shown as source and again as a show_doc block: {twice}"


def test_no_code_block_scrolls_sideways(pages):
    assert dc.check_code_width(pages) == []


def test_errata_are_warning_callouts_with_anchors(pages):
    for page, anchor in [("02_vector_case.ipynb", "erratum-vector-case"), ("03_earlier_layers.ipynb", "erratum-earlier-layers")]:
        text = "".join(dc.source(c) for c in pages[page]["cells"] if c["cell_type"] == "markdown")
        assert f"::: {{#{anchor} .callout-warning}}" in text


# ---- the checks themselves: each fails on a page with its defect ----

def page(*cells, title="A page", description="What it is", output_file="a_page.html"):
    fm = {"cell_type": "raw", "source": f"---\ntitle: {title}\ndescription: {description}\noutput-file: {output_file}\n---"}
    return {"cells": [fm, *cells]}


def md(text): return {"cell_type": "markdown", "source": text}
def code(text, outputs=()): return {"cell_type": "code", "source": text, "outputs": list(outputs)}


def test_check_titles_catches_a_missing_title():
    assert dc.check_titles({"ok.ipynb": page()}) == []
    assert "no title" in dc.check_titles({"bad.ipynb": page(title="''")})[0]
    assert "no title" in dc.check_titles({"bad.ipynb": {"cells": [md("# no front matter")]}})[0]


def test_check_directives_catches_a_leaked_directive():
    assert dc.check_directives({"ok.ipynb": page(code("#| echo: false\n#| exports: true\n#| fig-cap: x\nplot()"))}) == []
    assert "not a Quarto option" in dc.check_directives({"bad.ipynb": page(code("#| export\ndef f(): pass"))})[0]
    assert "marked `hide`" in dc.check_directives({"bad.ipynb": page(code("#| hide: true\nimport os"))})[0]
    assert "below the code" in dc.check_directives({"bad.ipynb": page(code("x = 1\n#| hide"))})[0]


@pytest.mark.parametrize("text, problem", [
    ("$$\na = b\n", "odd number of $$"),
    ("the slope $\\psi'(z) is", "odd number of $"),
    ("$$\n\\begin{pmatrix} a \\\\ b\n$$", "never closed"),
    ("$$\\begin{align} a \\end{aligned}$$", "without a matching"),
])
def test_check_latex_catches_an_unbalanced_formula(text, problem):
    assert dc.check_latex({"ok.ipynb": page(md("$a$ and $$b$$ and `$` in code, \\$5"))}) == []
    assert problem in dc.check_latex({"bad.ipynb": page(md(text))})[0]


def test_check_figures_catches_a_missing_image_or_alt_text():
    image = {"output_type": "display_data", "data": {"image/png": "iVBOR"}}
    assert dc.check_figures({"ok.ipynb": page(code("#| fig-cap: c\n#| fig-alt: a\nplot()", [image]))}) == []
    assert "without a saved image" in dc.check_figures({"bad.ipynb": page(code("#| fig-cap: c\n#| fig-alt: a\nplot()"))})[0]
    assert "alt text" in dc.check_figures({"bad.ipynb": page(code("#| fig-cap: c\nplot()", [image]))})[0]


def test_check_links_catches_a_broken_link():
    target = page(md("## Erratum 1\n\n::: {#err-one .callout-warning}\nx\n:::"), output_file="target.html")
    good = page(md("[a](target.html), [b](target.html#err-one), [c](target.html#erratum-1), [d](https://x.org/y.html)"))
    assert dc.check_links({"target.ipynb": target, "good.ipynb": good}) == []
    assert "no page missing.html" in dc.check_links({"target.ipynb": target, "bad.ipynb": page(md("[a](missing.html)"))})[0]
    assert "no anchor #nope" in dc.check_links({"target.ipynb": target, "bad.ipynb": page(md("[a](target.html#nope)"))})[0]
    site = "https://bpnotes.github.io/bpnotes/"
    assert dc.check_links({"target.ipynb": target, "good.ipynb": page(md(f"[x]({site}target.html#err-one)"))}) == []
    assert "no anchor #nope" in dc.check_links({"target.ipynb": target, "bad.ipynb": page(md(f"[x]({site}target.html#nope)"))})[0]
    documented = page(code("show_doc(f)", [{"output_type": "display_data", "data": {"text/markdown": "### MLP.step\n"}}]),
                      md("see below []{#backprop}"), output_file="target.html")
    assert dc.check_links({"target.ipynb": documented, "good.ipynb": page(md(f"[a]({site}target.html#mlp.step), "
                                                                            f"[b]({site}target.html#backprop)"))}) == []
    nested = page(md("the [fast [`MLP`](target.html#mlp)](target.html) page"))   # as nbdev links `MLP`
    assert "a link inside a link" in dc.check_links({"target.ipynb": target, "bad.ipynb": nested})[0]


def test_check_code_width_catches_a_long_line_in_code_signatures_and_outputs():
    ok = page(code("#| fig-cap: " + "x" * 100 + "\nprint(1)", [{"output_type": "stream", "text": "short\n"}]))
    assert dc.check_code_width({"ok.ipynb": ok}) == []
    long = "y = " + "1 + " * 30 + "1"
    assert "code line of" in dc.check_code_width({"bad.ipynb": page(code(long))})[0]
    assert dc.check_code_width({"ok.ipynb": page(code("#| echo: false\n" + long))}) == []   # not shown
    assert "output line of" in dc.check_code_width(
        {"bad.ipynb": page(code("print()", [{"output_type": "stream", "text": long}]))})[0]
    signature = {"output_type": "display_data", "data": {"text/markdown": f"### f\n\n```python\n{long}\n```\n"}}
    assert "signature line of" in dc.check_code_width({"bad.ipynb": page(code("show_doc(f)", [signature]))})[0]
    assert "code line of" in dc.check_code_width({"bad.ipynb": page(md(f"```python\n{long}\n```"))})[0]


def test_shown_names_finds_the_definitions_on_a_page():
    shown = dc.shown_names({"a.ipynb": page(code("#| exports: true\ndef f(x): return x\nclass C: pass\ng = 1"),
                                            code("def helper(): pass"))})
    assert shown == {"f", "C"}          # a helper defined in an ordinary cell is not part of the package


def test_check_sidebar_catches_a_missing_or_unknown_page():
    yml = "website:\n  sidebar:\n    contents:\n      - index.ipynb\n      - section: S\n        contents:\n          - a.ipynb\n"
    assert dc.check_sidebar(yml, ["index.ipynb", "a.ipynb"]) == []
    assert dc.check_sidebar(yml, ["index.ipynb", "a.ipynb", "b.ipynb"]) == ["b.ipynb is missing from the sidebar"]
    assert dc.check_sidebar(yml, ["index.ipynb"]) == ["sidebar lists a.ipynb, which is not a notebook"]
