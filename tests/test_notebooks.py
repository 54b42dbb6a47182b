"""Every notebook, run cell by cell through nbdev's own notebook runner.

A failing cell shows up in the captured stderr as `AssertionError in nbs/<notebook>: While Executing Cell #N`,
followed by its traceback. Cells flagged with the project's `tst_flags` (`#| notest`) are skipped, as
`nbdev-test` skips them.
"""
import json

import pytest
from nbdev.config import get_config
from nbdev.test import test_nb as run_notebook

from conftest import ROOT, notebooks


@pytest.mark.parametrize("nb", notebooks(), ids=lambda p: p.name)
def test_notebook_runs(nb):
    flags = get_config(ROOT).tst_flags.split()
    ok, _ = run_notebook(nb, skip_flags=flags, basepath=ROOT)
    assert ok, f"{nb.name} failed; its notebook and cell number are in the captured stderr above"


@pytest.mark.parametrize("nb", notebooks(), ids=lambda p: p.name)
def test_notebook_committed_executed(nb):
    "The site shows saved outputs: every notebook is committed executed, with figures and without errors"
    cells = [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert outputs, f"{nb.name} has no saved outputs: run `nbdev-test --save` before committing"
    assert not [o for o in outputs if o["output_type"] == "error"], f"{nb.name} has a saved error output"
    figures = [c for c in cells if any(l.startswith("#| fig-cap") for l in "".join(c["source"]).splitlines())]
    for c in figures:
        assert any("image/png" in o.get("data", {}) for o in c.get("outputs", [])), \
            f"{nb.name}: a captioned figure cell has no saved image"
