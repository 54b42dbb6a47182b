"""The literate build is in sync: modules match their notebooks, notebooks are clean, docs exist, README runs."""
import importlib
import inspect
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, copy_project, modules, notebooks

MODULES = modules()


def nbdev(cmd, cwd):
    "Run an nbdev command outside of a test run (`nbdev-export` does nothing while IN_TEST is set)"
    env = {k: v for k, v in os.environ.items() if k != "IN_TEST"}
    return subprocess.run([cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    "A copy of the project in which nbdev-export and nbdev-clean have been run again"
    tmp = copy_project(tmp_path_factory.mktemp("project"))
    for cmd in ("nbdev-export", "nbdev-clean"):
        result = nbdev(cmd, tmp)
        assert result.returncode == 0, f"{cmd} failed:\n{result.stderr}"
    return tmp


def test_modules_are_exported_from_the_notebooks(rebuilt):
    for py in sorted((ROOT / "bpnotes").glob("*.py")):
        assert (rebuilt / "bpnotes" / py.name).read_text() == py.read_text(), \
            f"bpnotes/{py.name} differs from what nbdev-export makes of the notebooks: edit the notebook, then run nbdev-export"


def test_notebooks_are_clean(rebuilt):
    for nb in notebooks():
        assert (rebuilt / "nbs" / nb.name).read_text() == nb.read_text(), f"{nb.name} is not clean: run nbdev-clean"


def test_import_does_not_load_matplotlib():
    code = "import sys, bpnotes, " + ", ".join(MODULES) + "; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("module", MODULES)
def test_every_public_name_is_documented(module):
    mod = importlib.import_module(module)
    assert mod.__doc__ and mod.__all__
    for name in mod.__all__:
        obj = getattr(mod, name)
        if not callable(obj):
            continue
        assert inspect.getdoc(obj), f"{module}.{name} has no docstring"
        if inspect.isclass(obj):
            for meth, fn in vars(obj).items():
                if callable(fn) and not meth.startswith("_"):
                    assert inspect.getdoc(fn), f"{module}.{name}.{meth} has no docstring"


def test_every_notebook_has_a_title_and_description():
    for nb in notebooks():
        text = nb.read_text()
        assert re.search(r'"# [^\n"]+\\n', text) and re.search(r'"> [^"]+"', text), f"{nb.name} lacks `# title` / `> description`"


def test_readme_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert blocks, "README.md has no python example"
    namespace = {}  # one namespace, as a reader running the blocks in order would have
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
