"""help() shows what every public name takes, and the site shows it once.

The project's one mechanism for parameter documentation: a NumPy-style docstring,

    '''One line that says what it does

    More words, plain or as a markdown list (no underlined headings but the two below).

    Parameters
    ----------
    name : <its annotation as Python writes it back (ast.unparse): `np.ndarray | None`>
        what it means

    Returns
    -------
    <the return annotation>
        what it is (one line)
    '''

with every parameter annotated and no docments comments. `help()` prints the docstring; nbdev's
`show_doc` turns the Parameters and Returns sections into comments in the signature and drops
them from the text, but only when each header's type is the annotation as written (modules use
`from __future__ import annotations`, so nbdev compares the source text, unparsed: `X : np.ndarray | None`):
otherwise the site would show every parameter twice, under a raw heading. The tests below check both.

A function whose source a page shows as the derivation's code keeps the one-line docstring the page
needs; a hidden cell completes it with `bpnotes.checks.document` from a table of meanings. A dataclass
lists its fields under Parameters in the class docstring (nbdev reads them there); a NamedTuple lists
them as `- field: meaning` lines (show_doc cannot show a NamedTuple's fields, and would print a
Parameters heading raw).
"""
import dataclasses
import importlib
import inspect
import re

import numpy as np
import pytest

MODULES = ["bpnotes", "bpnotes.mlp", "bpnotes.train", "bpnotes.cli", "bpnotes.checks", "bpnotes.gradcheck",
           "bpnotes.diagnosis", "bpnotes.derivations", "bpnotes.mistakes",
           "bpnotes.plotting", "bpnotes.reverse", "bpnotes.exercises", "bpnotes.single_value",
           "bpnotes.loss", "bpnotes.vector", "bpnotes.layers"]
# Public names allowed not to follow the scheme: none.
NOT_YET = set()


def public_callables():
    "(dotted name, object) for every public function, class and public method of MODULES"
    seen = set()
    for module in MODULES:
        mod = importlib.import_module(module)
        for name in mod.__all__:
            obj, dotted = getattr(mod, name), f"{module}.{name}"
            if not callable(obj) or dotted in NOT_YET or id(obj) in seen:
                continue
            seen.add(id(obj))
            if inspect.isclass(obj):
                yield dotted, obj
                for meth, fn in vars(obj).items():
                    if isinstance(fn, classmethod):
                        fn = getattr(obj, meth)            # bound, as show_doc(MLP.load) sees it
                    if meth == "__init__" and dataclasses.is_dataclass(obj):
                        continue                           # generated: the class docstring lists the fields
                    if (inspect.isfunction(fn) or inspect.ismethod(fn)) and (not meth.startswith("_") or meth in ("__init__", "__call__")):
                        yield f"{dotted}.{meth}", fn
            else:
                yield dotted, obj


NAMES = dict(public_callables())


def sections(doc):
    "The NumPy sections of a docstring: {title: body}, and the text before them under ''"
    parts = re.split(r"(?m)^([A-Z][\w ]*)\n-{3,}\s*\n", doc)
    return {"": parts[0], **dict(zip(parts[1::2], parts[2::2]))}


def documented_parameters(doc):
    "{name: (type, description)} from the Parameters section"
    body = sections(doc).get("Parameters", "")
    entries = re.findall(r"(?m)^(\S[^:\n]*?) : ([^\n]*)\n((?:[ \t]+\S[^\n]*\n?)+)", body)
    return {name: (kind.strip(), " ".join(desc.split())) for name, kind, desc in entries}


def parameters(fn):
    "The names a caller passes: every parameter but self and cls"
    return [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]


def listed_fields(doc):
    "{field: meaning} from a docstring's `- field: meaning` lines"
    return dict(re.findall(r"(?m)^- (\w+): (\S.*)$", doc))


def class_problems(cls):
    "What help(cls) leaves out: no docstring, or a field of a dataclass or NamedTuple without its meaning"
    doc = inspect.getdoc(cls) or ""
    if not doc.strip():
        return ["no docstring"]
    if dataclasses.is_dataclass(cls):
        documented = documented_parameters(doc)
        return [f"field {f.name} is not under Parameters" for f in dataclasses.fields(cls)
                if f.init and not documented.get(f.name, ("", ""))[1]]
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        listed = listed_fields(doc)
        return [f"field {f} is not listed as '- {f}: meaning'" for f in cls._fields if f not in listed]
    return []


@pytest.mark.parametrize("name", sorted(NAMES))
def test_help_shows_every_parameter_with_its_meaning(name):
    fn = NAMES[name]
    if inspect.isclass(fn):                    # the class's own docstring: what it is; __init__ has the parameters
        assert class_problems(fn) == [], f"help({name})"
        return
    doc = inspect.getdoc(fn) or ""
    assert doc.strip(), f"{name} has no docstring"
    documented = documented_parameters(doc)
    for p in parameters(fn):
        assert p in documented and documented[p][1], f"help({name}) does not say what {p} is"
    assert set(documented) <= set(parameters(fn)), f"{name} documents parameters it does not have"
    extra = set(sections(doc)) - {"", "Parameters", "Returns"}
    assert not extra, f"{name}: sections {extra} would be raw headings on the site; write them as text"


@pytest.mark.parametrize("name", sorted(NAMES))
def test_the_site_shows_every_parameter_once(name):
    "show_doc puts each parameter's meaning in the signature and no raw Parameters heading below"
    showdoc = pytest.importorskip("nbdev.showdoc")
    fn = NAMES[name]
    if inspect.isfunction(fn) and fn.__name__ == "__init__":
        return                                 # show_doc(the class) renders __init__'s parameters
    md = showdoc.show_doc(fn)._repr_markdown_()
    underlined = [l for l in md.splitlines()[1:] if re.fullmatch(r"\s*(-{3,}|={3,})\s*", l)]
    assert not underlined, f"show_doc({name}) shows a raw section heading:\n{md}"
    signature = md.split("```python", 1)[1].split("```", 1)[0]
    wide = [l for l in signature.splitlines() if len(l) > 80]
    assert not wide, f"show_doc({name}): signature lines wider than the page's 80 characters: {wide}"
    if inspect.isclass(fn) and "__init__" not in vars(fn):
        return                                 # an inherited __init__ (an exception class): nothing of ours
    target = fn.__init__ if inspect.isclass(fn) else fn
    for p in parameters(target):
        line = next((l for l in signature.splitlines() if re.match(rf"\s*(\*,\s*)?\**{p}\b", l)), "")
        assert " # " in line, f"show_doc({name}): {p} has no comment in the signature:\n{signature}"


def test_the_checks_above_catch_a_badly_written_docstring():
    "A missing parameter, a header whose type is not the annotation, an extra section: each one caught"
    def good(x: int, y: float = 0.0) -> float:
        """Adds

        Parameters
        ----------
        x : int
            one number
        y : float
            another
        """
    def missing(x: int, y: float = 0.0):
        """Adds

        Parameters
        ----------
        x : int
            one number
        """
    def wrong_type(x: int):
        """Adds

        Parameters
        ----------
        x : integer
            one number
        """
    def notes(x: int):
        """Adds

        Parameters
        ----------
        x : int
            one number

        Notes
        -----
        a raw heading on the site
        """
    assert set(documented_parameters(inspect.getdoc(good))) == {"x", "y"}
    assert "y" not in documented_parameters(inspect.getdoc(missing))
    assert set(sections(inspect.getdoc(notes))) == {"", "Parameters", "Notes"}
    showdoc = pytest.importorskip("nbdev.showdoc")
    assert "-----" not in showdoc.show_doc(good)._repr_markdown_().split("\n", 1)[1]
    assert "----------" in showdoc.show_doc(wrong_type)._repr_markdown_()   # shown twice, under a heading


def test_help_on_the_package_says_what_it_is():
    "help(bpnotes): what it is, a line for each name it exports, where the documentation is"
    import bpnotes
    doc = inspect.getdoc(bpnotes)
    assert "backpropagation" in doc.lower() and "https://bpnotes.github.io/bpnotes/" in doc
    listed = listed_fields(doc)
    assert set(listed) == set(bpnotes.__all__), f"help(bpnotes) lists {sorted(listed)}"
    wrapped = re.findall(r"(?m)^- (\w+): .*\n[ \t]+\S", doc)
    assert not wrapped, f"help(bpnotes): more than one line for {wrapped}"


def test_help_on_mlp_lists_the_losses_with_their_targets():
    from bpnotes.loss import LOSSES
    from bpnotes.mlp import MLP
    doc = inspect.getdoc(MLP)
    for loss, shape in [("mse", "(B, n)"), ("softmax_cross_entropy", "(B,)"), ("binary_cross_entropy", "(B, n)")]:
        line = next((l for l in doc.splitlines() if f"'{loss}'" in l), "")
        assert shape in line, f"help(MLP) does not give {loss}'s target shape"
    assert set(LOSSES) == {"mse", "softmax_cross_entropy", "binary_cross_entropy"}   # a new loss needs a line


def test_the_class_checks_catch_a_field_left_out():
    "A dataclass field not under Parameters, a NamedTuple field not listed: each one caught"
    from typing import NamedTuple

    @dataclasses.dataclass
    class Row:
        """A row

        Parameters
        ----------
        name : str
            its name
        """
        name: str
        error: float = 0.0

    class Pair(NamedTuple):
        """A pair

        - left: the first
        """
        left: int
        right: int

    assert class_problems(Row) == ["field error is not under Parameters"]
    assert class_problems(Pair) == ["field right is not listed as '- right: meaning'"]


def shapes_example():
    "A fresh @shapes function with a one-line docstring, as a section page shows one"
    from bpnotes.checks import shapes

    @shapes(H="B p", W_h="p n")
    def outputs(H, W_h, psi="identity"):
        "ψ(H W_h), for a batch H"
        return H @ W_h
    return outputs


MEANINGS = {"H": ("np.ndarray", "hidden activations, shape (B, p)"),
            "W_h": ("np.ndarray", "the weights leaving the hidden layer, shape (p, n), a matrix whose "
                                  "columns belong to the outputs, one column per output unit"),
            "psi": ("str", "output activation ψ, by name")}
RETURNS = ("np.ndarray", "the outputs, shape (B, n)")


def test_document_completes_help_and_the_site_shows_it_once():
    from bpnotes.checks import document
    f = shapes_example()
    assert document(f, MEANINGS, RETURNS) is f
    doc = inspect.getdoc(f)
    assert doc.startswith("ψ(H W_h), for a batch H\n\nParameters\n----------\n")
    assert {p: d for p, (_, d) in documented_parameters(doc).items()} == {p: m for p, (_, m) in MEANINGS.items()}
    assert sections(doc)["Returns"].split() == ["np.ndarray", "the", "outputs,", "shape", "(B,", "n)"]
    assert inspect.signature(f).parameters["psi"].annotation == "str"
    assert f.__wrapped__.__doc__ == f.__doc__                   # the arithmetic, as unchecked() gives it
    assert f(np.ones((1, 3)), np.ones((3, 2))).shape == (1, 2)  # still checked, still computing
    document(f, MEANINGS, RETURNS)                               # again, as a re-run cell does: no change
    assert inspect.getdoc(f) == doc
    showdoc = pytest.importorskip("nbdev.showdoc")
    md = showdoc.show_doc(f)._repr_markdown_()
    signature = md.split("```python", 1)[1].split("```", 1)[0]
    assert "Parameters" not in md and max(map(len, signature.splitlines())) <= 80, md
    lines = signature.splitlines()
    assert "    W_h:np.ndarray, # the weights leaving" in signature, md
    assert lines[lines.index(next(l for l in lines if "W_h:" in l)) + 1].startswith("    # "), md   # wrapped


@pytest.mark.parametrize("meanings, returns, problem", [
    ({"H": MEANINGS["H"], "psi": MEANINGS["psi"]}, RETURNS, "no meaning given for W_h"),
    ({**MEANINGS, "psi": ("str", " ")}, RETURNS, "no meaning given for psi"),
    ({**MEANINGS, "psi": ("Callable", "ψ")}, RETURNS, None),
])
def test_document_refuses_a_table_that_does_not_fit_and_changes_nothing(meanings, returns, problem):
    from bpnotes.checks import document
    f = shapes_example()
    if problem is None:                        # an annotation that disagrees with the one written
        f.__wrapped__.__annotations__["psi"] = "str"
        problem = "psi is annotated str"
    before = (f.__doc__, dict(f.__annotations__), dict(f.__wrapped__.__annotations__))
    with pytest.raises(ValueError, match=problem):
        document(f, meanings, returns)
    assert (f.__doc__, dict(f.__annotations__), dict(f.__wrapped__.__annotations__)) == before


def test_document_refuses_a_second_different_table():
    from bpnotes.checks import document
    f = document(shapes_example(), MEANINGS, RETURNS)
    with pytest.raises(ValueError, match="already lists its parameters"):
        document(f, {**MEANINGS, "H": ("np.ndarray", "something else")}, RETURNS)
