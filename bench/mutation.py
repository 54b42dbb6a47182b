"""Mutation testing: how many small wrong edits of bpnotes does the test suite catch?

    python bench/mutation.py loss vector                 # these modules, every mutant
    python bench/mutation.py                             # the eight modules below (long: see MUTATION.md)
    python bench/mutation.py --jobs 2 --sample 0.25 --seed 0    # a quarter of the mutants, drawn with seed 0
    python bench/mutation.py --list layers               # the mutants of a module, nothing run
    python bench/mutation.py --show "layers:hidden_delta+3:12:swap_args"   # one mutant as a diff
    python bench/mutation.py --report bench/MUTATION.md  # rewrite the results page from the last run

A mutant is a copy of one module with one small edit: an arithmetic operator swapped (+ −, * /, @ *, ** *),
a number changed (k → k + 1; a float x → x + 1, or 10x when |x| < 1), a comparison flipped (< ≤, > ≥, == ≠,
is / is not, in / not in), `and` / `or` swapped, a unary minus or `not` dropped, a transpose `.T` dropped, the
first two arguments of a call swapped, a statement removed (an expression statement, an in-place
assignment, `x op= y`, `raise`, `if`, `assert`) or a returned value replaced by None. Docstrings, strings,
f-strings, annotations, decorators, imports and error-message arguments are not mutated: `mutmut` 3 skips
decorated functions, most of bpnotes' formulas (`@shapes`), which is why this small mutator exists.

How it runs. The project (pyproject.toml, bpnotes/, tests/, nbs/) is copied into a scratch folder per job. One
pytest run of the unmutated copy, traced, records which lines of the package every test executes and how long
each test takes. Then, for each mutant, the mutated file is written into a job's copy and a child process
(forked from this one, with pytest, numpy, hypothesis, sympy already imported) runs `pytest -x` on exactly the
tests that execute the mutated lines, fastest first, with a timeout of `--timeout-factor` times their baseline
time plus 20 s. The test that killed the previous mutant of the same function (or module) runs first. The
mutant is *killed* when a test fails (or the mutated module fails to import), *survived* when they all pass,
*timeout* when the run is stopped (counted as killed: the suite noticed), *uncovered* when no test executes
its lines. Hypothesis runs derandomized and without its example database, so a run is reproducible. numpy's
BLAS runs on one thread per job, and the whole tool runs at `nice` 10 (`--no-nice` to keep the priority).

Tests left out, since they catch any edit whatever it does or test something else: test_sync.py (the
modules equal their notebooks), test_docs.py, test_package.py (the built wheel), and the notebooks'
saved-output check. Notebook runs (test_notebooks.py's `test_notebook_runs`, test_proofs.py) are left out
unless `--notebooks`: a mutant the unit tests miss but a page's check catches is reported as a survivor, so
that tests/ alone is measured.

Results go to `--out` (default bench/mutation-results.json), one record per mutant, merged with earlier runs
by module; `--report` writes the Markdown page from them and from bench/mutation-survivors.txt, where each
surviving mutant has one line saying why it survives.
"""
import argparse
import ast
import fnmatch
import hashlib
import json
import os
import pathlib
import random
import re
import shutil
import signal
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODULES = ["single_value", "loss", "vector", "layers", "checks", "reverse", "mlp", "gradcheck"]
FORMULA_MODULES = ["single_value", "loss", "vector", "layers", "checks", "reverse"]
LEFT_OUT = ["tests/test_sync.py", "tests/test_docs.py", "tests/test_package.py",
            "tests/test_notebooks.py::test_notebook_committed_executed"]
NOTEBOOK_TESTS = ["tests/test_notebooks.py::test_notebook_runs", "tests/test_proofs.py"]
RESULTS = ROOT / "bench" / "mutation-results.json"
SURVIVORS = ROOT / "bench" / "mutation-survivors.txt"

# ---------------------------------------------------------------------------------------------------------
# The mutants

BINOP_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
              ast.MatMult: ast.Mult, ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}
CMP_SWAP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.MatMult: "@", ast.Pow: "**",
          ast.FloorDiv: "//", ast.Mod: "%", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
          ast.Eq: "==", ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in",
          ast.NotIn: "not in", ast.And: "and", ast.Or: "or"}
REMOVABLE = (ast.Expr, ast.AugAssign, ast.Raise, ast.If, ast.Assert)


class Source:
    "A module's text, with AST positions (line, UTF-8 byte column) turned into offsets and edits made on copies"
    def __init__(self, text):
        self.data = text.encode()
        self.starts = [0]
        for line in self.data.splitlines(keepends=True): self.starts.append(self.starts[-1] + len(line))

    def offset(self, line, col): return self.starts[line - 1] + col
    def span(self, node):
        return self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset)
    def text(self, a, b): return self.data[a:b].decode()
    def replace(self, edits):
        "The text with [(start, end, new text)] edits made (non-overlapping)"
        out, last = [], 0
        for a, b, new in sorted(edits):
            out += [self.data[last:a], new.encode()]; last = b
        return b"".join(out + [self.data[last:]]).decode()


def operator_span(src, a, b, symbol):
    "The offsets of the operator `symbol` in the source between offsets a and b (the operands' ends)"
    gap = src.text(a, b)
    if symbol[0].isalpha(): pattern = r"\b" + r"\s+".join(symbol.split()) + r"\b"
    else: pattern = r"(?<![-+*/@<>=!%])" + re.escape(symbol) + r"(?![-+*/@<>=!%])"
    match = re.search(pattern, re.sub(r"#[^\n]*", lambda m: " " * len(m.group()), gap))
    if not match: raise ValueError(f"operator {symbol!r} not found in {gap!r}")
    return a + len(gap[:match.start()].encode()), a + len(gap[:match.end()].encode())


def mutated_number(value):
    "k → k + 1; a float x → x + 1, or 10x when 0 < |x| < 1"
    if isinstance(value, int): return repr(value + 1)
    return repr(float(f"{value * 10 if 0 < abs(value) < 1 else value + 1.0:.12g}"))   # 1e-05, not 9.99…e-06


class Finder(ast.NodeVisitor):
    "Walk a module and list its mutants as (key, operator, [(start, end, new text)], line, end line)"
    def __init__(self, module, src):
        self.module, self.src, self.found, self.scope, self.def_line = module, src, [], [], 0
        self.top = "<module>"

    def add(self, node, op, edits):
        qual = ".".join(self.scope) or self.top
        rel = node.lineno - self.def_line
        key = f"{self.module}:{qual}+{rel}:{node.col_offset}:{op}"
        self.found.append(dict(key=key, module=self.module, function=qual, op=op, edits=edits,
                               line=node.lineno, end_line=node.end_lineno))

    # scopes and the parts never mutated
    def visit_FunctionDef(self, node):
        self.scope.append(node.name)
        outer, self.def_line = self.def_line, node.lineno
        for d in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]: self.visit(d)
        self.statements(node.body)
        self.scope.pop(); self.def_line = outer
    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.scope.append(node.name)
        outer, self.def_line = self.def_line, node.lineno
        self.statements(node.body)
        self.scope.pop(); self.def_line = outer

    def visit_Module(self, node):
        "Module-level statements are named after what they assign, lines counted from their first"
        for stmt in node.body[1:] if ast.get_docstring(node) else node.body:
            targets = getattr(stmt, "targets", None) or [getattr(stmt, "target", None)]
            names = [t.id for t in targets if isinstance(t, ast.Name)]
            self.top, self.def_line = (names[0] if names else "<module>"), stmt.lineno
            self.visit(stmt)

    def statements(self, body):
        for i, stmt in enumerate(body):
            if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant): continue  # docstring
            self.visit(stmt)

    def generic_visit(self, node):
        for field, value in ast.iter_fields(node):
            if field in ("annotation", "returns", "decorator_list", "type_comment"): continue
            if isinstance(value, list):
                if value and isinstance(value[0], ast.stmt): self.statements_in(value)
                else:
                    for v in value:
                        if isinstance(v, ast.AST): self.visit(v)
            elif isinstance(value, ast.AST): self.visit(value)

    def statements_in(self, body):
        for stmt in body: self.visit(stmt)

    def visit_Import(self, node): pass
    visit_ImportFrom = visit_Import
    def visit_JoinedStr(self, node): pass        # f-strings: message text

    def visit_Assign(self, node):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        if names in (["__all__"], ["__getattr__"]): return
        if any(isinstance(t, (ast.Subscript, ast.Attribute)) for t in node.targets):
            self.remove(node)
        self.generic_visit(node)

    def visit_Raise(self, node):
        if not getattr(node, "same_as_if", False): self.remove(node)   # its arguments, the message: not mutated

    def visit_Assert(self, node):
        self.remove(node); self.visit(node.test)  # not its message

    def visit_Call(self, node):
        args = node.args
        if len(args) >= 2 and not any(isinstance(a, ast.Starred) for a in args[:2]):
            (a0, a1), (b0, b1) = self.src.span(args[0]), self.src.span(args[1])
            self.add(node, "swap_args", [(a0, a1, self.src.text(b0, b1)), (b0, b1, self.src.text(a0, a1))])
        self.generic_visit(node)

    # statements
    def remove(self, node):
        a, b = self.src.span(node)
        self.add(node, "remove", [(a, b, "pass")])

    def visit_Expr(self, node):
        self.remove(node); self.generic_visit(node)

    def visit_If(self, node):
        if len(node.body) == 1 and isinstance(node.body[0], ast.Raise) and not node.orelse:
            node.body[0].same_as_if = True       # removing the raise is removing the if
        a, b = self.src.span(node)
        self.add(node, "remove", [(a, b, "pass")])
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self.remove(node)
        new = BINOP_SWAP.get(type(node.op))
        if new:
            a, _ = self.src.span(node.target)[1], None
            b = self.src.span(node.value)[0]
            s, e = operator_span(self.src, a, b, SYMBOL[type(node.op)] + "=")
            self.add(node, f"aug_{type(node.op).__name__}_{new.__name__}", [(s, e, SYMBOL[new] + "=")])
        self.visit(node.value)

    def visit_Return(self, node):
        if node.value is not None and not (isinstance(node.value, ast.Constant) and node.value.value is None):
            a, b = self.src.span(node.value)
            self.add(node, "return_none", [(a, b, "None")])
            self.visit(node.value)

    # expressions
    def visit_BinOp(self, node):
        new = BINOP_SWAP.get(type(node.op))
        if new:
            s, e = operator_span(self.src, self.src.span(node.left)[1], self.src.span(node.right)[0],
                                 SYMBOL[type(node.op)])
            self.add(node, f"{type(node.op).__name__}_{new.__name__}", [(s, e, SYMBOL[new])])
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, (ast.USub, ast.Not)):
            a, _ = self.src.span(node)
            b = self.src.span(node.operand)[0]
            self.add(node, f"drop_{type(node.op).__name__}", [(a, b, "")])
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant): return  # -1: one mutant
        self.generic_visit(node)

    def visit_Compare(self, node):
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            new = CMP_SWAP[type(op)]
            s, e = operator_span(self.src, self.src.span(left)[1], self.src.span(right)[0], SYMBOL[type(op)])
            pad = " " if SYMBOL[new][0].isalpha() else ""
            self.add(node, f"{type(op).__name__}_{new.__name__}", [(s, e, pad + SYMBOL[new] + pad)])
            left = right
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        new = ast.Or if isinstance(node.op, ast.And) else ast.And
        for left, right in zip(node.values, node.values[1:]):
            s, e = operator_span(self.src, self.src.span(left)[1], self.src.span(right)[0], SYMBOL[type(node.op)])
            self.add(node, f"{type(node.op).__name__}_{new.__name__}", [(s, e, f" {SYMBOL[new]} ")])
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if node.attr == "T":
            a, b = self.src.span(node.value)[1], self.src.span(node)[1]
            self.add(node, "drop_T", [(a, b, "")])
        self.generic_visit(node)

    def visit_Constant(self, node):
        a, b = self.src.span(node)
        if isinstance(node.value, bool):
            self.add(node, "flip_bool", [(a, b, repr(not node.value))])
        elif isinstance(node.value, (int, float)):
            self.add(node, "number", [(a, b, mutated_number(node.value))])


def find_mutants(module, root=ROOT):
    "Every mutant of bpnotes/<module>.py: dicts with key, function, op, edits, line, end_line"
    text = (root / "bpnotes" / f"{module}.py").read_text()
    src = Source(text)
    finder = Finder(module, src)
    finder.visit(ast.parse(text))
    mutants, seen = [], {}
    for m in finder.found:
        n = seen[m["key"]] = seen.get(m["key"], -1) + 1       # the same key twice: number them
        if n: m["key"] += f"#{n}"
        m["source"] = src.replace(m["edits"])
        if m["source"] == text: continue                       # swapped equal arguments: no edit
        try: ast.parse(m["source"])
        except SyntaxError: continue                           # an edit Python refuses is no mutant
        m["diff"] = diff_lines(text, m["source"])
        mutants.append(m)
    return mutants


def diff_lines(before, after):
    "The changed lines, as (before, after) text with surrounding blanks stripped"
    a, b = before.splitlines(), after.splitlines()
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]: i += 1
    j = 0
    while j < min(len(a), len(b)) - i and a[-1 - j] == b[-1 - j]: j += 1
    return "\n".join(l.strip() for l in a[i:len(a) - j]), "\n".join(l.strip() for l in b[i:len(b) - j])

# ---------------------------------------------------------------------------------------------------------
# Running the tests in forked children


def preimport():
    "Import what the tests import (never bpnotes), so that every forked child starts warm"
    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in ["numpy", "pytest", "hypothesis", "_hypothesis_pytestplugin", "autograd", "autograd.numpy",
                 "sympy", "matplotlib.pyplot", "sklearn.datasets", "nbdev.test", "execnb.shell", "tqdm.auto"]:
        try: __import__(name)
        except Exception: pass
    from hypothesis import settings
    settings.register_profile("mutation", database=None, derandomize=True, print_blob=False)
    settings.load_profile("mutation")


def copy_project(dest):
    "pyproject.toml, bpnotes/, tests/ and nbs/ copied into dest, without caches"
    dest.mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", dest)
    for d in ("bpnotes", "tests", "nbs"):
        shutil.copytree(ROOT / d, dest / d, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return dest


def fork_pytest(workdir, args, log, plugin=None):
    "Fork a child that runs pytest with args in workdir, its output to log; returns the child's pid"
    pid = os.fork()
    if pid: return pid
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd, 1); os.dup2(fd, 2)
        os.chdir(workdir)
        sys.path.insert(0, str(workdir))
        os.environ["PYTHONPATH"] = str(workdir)       # for the tests' own subprocesses too
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
        sys.dont_write_bytecode = True
        import pytest
        code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
                           plugins=[plugin] if plugin else [])
        sys.stdout.flush(); sys.stderr.flush()
        os._exit(int(code))
    except BaseException as e:
        print(f"child failed: {e!r}", file=sys.stderr)
        os._exit(99)


class Recorder:
    "A pytest plugin: the package lines each test executes, and how long it takes"
    def __init__(self, package_dir, out):
        self.package_dir, self.out = str(package_dir) + os.sep, out
        self.current, self.lines, self.seconds = None, {}, {}

    def tracer(self, frame, event, arg):
        path = frame.f_code.co_filename
        if not path.startswith(self.package_dir): return None
        module = path[len(self.package_dir):-3]
        hits = self.lines.setdefault(self.current, {}).setdefault(module, set())
        hits.add(frame.f_lineno)
        def line(frame, event, arg):
            if event == "line": hits.add(frame.f_lineno)
            return line
        return line

    def pytest_configure(self, config):
        import threading
        sys.settrace(self.tracer); threading.settrace(self.tracer)

    def pytest_runtest_logfinish(self, nodeid, location):
        self.seconds[nodeid] = time.perf_counter() - getattr(self, "_start", 0)

    def pytest_runtest_logstart(self, nodeid, location):
        self._start = time.perf_counter(); self.current = nodeid

    def pytest_unconfigure(self, config):
        sys.settrace(None)
        data = {"seconds": self.seconds,
                "lines": {t or "": {m: sorted(s) for m, s in mods.items()} for t, mods in self.lines.items()}}
        pathlib.Path(self.out).write_text(json.dumps(data))


def selected_tests(notebooks):
    "The pytest arguments that select the tests measured"
    args = ["tests"]
    for t in LEFT_OUT + ([] if notebooks else NOTEBOOK_TESTS): args += ["--deselect", t]
    return args


def fingerprint(notebooks):
    "A hash of everything a coverage map depends on"
    h = hashlib.sha256(str(notebooks).encode())
    for d in ("bpnotes", "tests") + (("nbs",) if notebooks else ()):
        for p in sorted((ROOT / d).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts: h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:16]


def coverage_map(scratch, notebooks, cache_dir):
    "{test: seconds}, {test: {module: lines}} from one traced run of the unmutated copy (cached)"
    cache = pathlib.Path(cache_dir) / f"coverage-{fingerprint(notebooks)}.json"
    if not cache.exists():
        base = copy_project(scratch / "base")
        out = scratch / "coverage.json"
        print("tracing the unmutated suite to map tests to lines ...", flush=True)
        start = time.perf_counter()
        pid = fork_pytest(base, selected_tests(notebooks),
                          scratch / "coverage.log", Recorder(base / "bpnotes", out))
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            log = (scratch / "coverage.log").read_text(errors="replace").splitlines()
            sys.exit("the unmutated suite fails (the scratch folder goes with this process); "
                     "the end of its log:\n" + "\n".join(log[-40:]))
        print(f"  done in {time.perf_counter() - start:.0f} s", flush=True)
        cache.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(out, cache)
    data = json.loads(cache.read_text())
    return data["seconds"], data["lines"]


def covering_tests(mutant, seconds, lines):
    "The tests that execute the mutant's lines, fastest first (tests of the whole module if only import runs them)"
    span = set(range(mutant["line"], mutant["end_line"] + 1))
    module = mutant["module"]
    tests = [t for t, mods in lines.items() if t and span & set(mods.get(module, ()))]
    if not tests and span & set(lines.get("", {}).get(module, ())):    # module-level code, run at import
        tests = [t for t, mods in lines.items() if t and module in mods]
    return sorted(tests, key=lambda t: seconds.get(t, 1.0))


class Runner:
    "Runs mutants `jobs` at a time, each in its own copy of the project, as forked pytest children"
    def __init__(self, jobs, scratch, seconds, lines, timeout_factor):
        self.workers = [copy_project(scratch / f"job{k}") for k in range(jobs)]
        self.logs = [scratch / f"job{k}.log" for k in range(jobs)]
        self.originals = [{} for _ in range(jobs)]        # per job: module → its unmutated text
        self.seconds, self.lines, self.timeout_factor = seconds, lines, timeout_factor
        self.free, self.running = list(range(jobs)), {}   # running: pid → (mutant, job, start, limit, tests)
        self.killers = {}                                 # (module, function) → the test that killed the last

    def write(self, k, module, text=None):
        "Write a module into job k's copy: the mutant's text, or the original back when text is None"
        path = self.workers[k] / "bpnotes" / f"{module}.py"
        self.originals[k].setdefault(module, path.read_text())
        path.write_text(self.originals[k][module] if text is None else text)

    def start(self, m):
        "Start mutant m on a free job; False when no test runs its lines"
        tests = covering_tests(m, self.seconds, self.lines)
        if m.get("by_file"):                      # its test ids changed: run the files that hold them
            tests = list(dict.fromkeys(t.split("::")[0] for t in tests))
        if not tests: return False
        for killer in (self.killers.get(m["module"]), self.killers.get((m["module"], m["function"]))):
            if killer in tests: tests.remove(killer); tests.insert(0, killer)   # likely to kill this one too
        k = self.free.pop()
        self.write(k, m["module"], m["source"])
        limit = self.timeout_factor * sum(self.seconds.get(t, 1.0) for t in tests) + 20
        pid = fork_pytest(self.workers[k], tests, self.logs[k])
        self.running[pid] = (m, k, time.perf_counter(), limit, len(tests))
        return True

    def finished(self):
        "[(mutant, done)] for every child that ended or ran out of time; done False: run it again"
        out = []
        for pid, (m, k, start, limit, n) in list(self.running.items()):
            got, status = os.waitpid(pid, os.WNOHANG)
            elapsed = time.perf_counter() - start
            if got == 0 and elapsed < limit: continue
            del self.running[pid]
            self.write(k, m["module"])
            self.free.append(k)
            m["seconds"], m["tests"] = round(elapsed, 2), n
            if got == 0:
                os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
                m["status"] = "timeout"; out.append((m, True)); continue
            code, text = os.waitstatus_to_exitcode(status), self.logs[k].read_text(errors="replace")
            if code == 4 and re.search(r"^ERROR tests/\S+ - ", text, flags=re.M):
                code = 2                          # a test module failed to import: a collection error
            if code == 4 and not m.get("by_file") and "not found" in text:
                m["by_file"] = True               # the mutant renamed parametrized tests: run their files
                out.append((m, False)); continue
            m["status"] = {0: "survived", 1: "killed", 2: "killed"}.get(code, f"error {code}")
            if code in (1, 2):
                m["killed_by"] = self.killers[m["module"]] = failing_test(text)
                self.killers[m["module"], m["function"]] = m["killed_by"]
            if code not in (0, 1, 2): m["log"] = text[-2000:]
            out.append((m, True))
        return out

    def stop(self):
        "Kill the children still running: none outlives the run"
        for pid in self.running:
            os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)


def run_mutants(mutants, jobs, scratch, seconds, lines, timeout_factor, minutes=None):
    """Run every mutant, `jobs` at a time; each gets a status, its seconds and the test that killed it.
    With `minutes`, no mutant starts after that long: the ones run are those that started in time"""
    runner = Runner(jobs, scratch, seconds, lines, timeout_factor)
    queue, done, start = list(mutants), [], time.perf_counter()
    in_time = lambda: minutes is None or time.perf_counter() - start < 60 * minutes
    try:
        while (queue and in_time()) or runner.running:
            while queue and runner.free and in_time():
                m = queue.pop(0)
                if not runner.start(m):
                    m.update(status="uncovered", seconds=0.0, tests=0); done.append(m)
            time.sleep(0.05)
            for m, ended in runner.finished():
                if not ended: queue.insert(0, m); continue
                done.append(m)
                print(f"[{len(done)}/{len(mutants)} {time.perf_counter() - start:5.0f} s] {m['status']:9} "
                      f"{m['seconds']:5.1f} s  {m['key']}  {m['diff'][1][:60]!r}", flush=True)
    finally:
        runner.stop()
    return done


def failing_test(log):
    "The first failing test's id in a pytest log, or the collection error"
    for line in log.splitlines():
        if line.startswith(("FAILED ", "ERROR ")): return line.split(" ", 1)[1].split(" - ")[0]
    return "collection" if "error" in log.lower() else ""

# ---------------------------------------------------------------------------------------------------------
# Results


def read_notes(path=SURVIVORS):
    "{key: (why, note)} from the survivors file: `key | why | one line`"
    notes = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                key, why, note = (s.strip() for s in line.split("|", 2))
                notes[key] = (why, note)
    return notes


WHY = ["equivalent", "speed", "message", "gap", "unexplained"]


def shown(code, width=90):
    "A mutated line for the table: comments dropped, one line, at most `width` characters"
    first, *more = code.splitlines() or [""]
    code = re.sub(r"\s+#.*$", "", first) + (" …" if more else "")
    return (code if len(code) <= width else code[:width - 1] + "…").replace("|", "\\|")


def report(data, path, notes):
    "Write the Markdown page: the score per module, how each was run, then every survivor and why it survives"
    results, runs = data["results"], data["runs"]
    lines = [PAGE_HEAD.rstrip(), "",
             "| module | mutants | killed | survived: equivalent | speed only | message only | gap | unexplained "
             "| score | score without equivalent, speed and message mutants | run time | run |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    commands = []
    for module in MODULES:
        rs = [r for r in results if r["module"] == module]
        if not rs: continue
        run = runs[module]
        if run["command"] not in commands: commands.append(run["command"])
        caught = sum(r["status"] in ("killed", "timeout") for r in rs)
        why = [notes.get(r["key"], ("unexplained",))[0] for r in rs if r["status"] not in ("killed", "timeout")]
        count = {w: why.count(w) for w in WHY}
        harmless = count["equivalent"] + count["speed"] + count["message"]
        name = f"{module} (sampled, {run['sampled']:.0%})" if run.get("sampled") else module
        lines.append(f"| {name} | {len(rs)} | {caught} | "
                     + " | ".join(str(count[w]) for w in WHY)
                     + f" | {100 * caught / len(rs):.1f} % | {100 * caught / max(len(rs) - harmless, 1):.1f} % | "
                     f"{sum(r['seconds'] for r in rs) / 60:.1f} min | {commands.index(run['command']) + 1} |")
    lines += ["", "*Killed* counts the mutants a test failed on (a timeout counts too: the suite noticed); a",
              "survivor no test even executes is marked so below. Run time is the sum of the mutants' own times",
              "(with two jobs the wall time is about half), on the 2-core machine the project is developed on,",
              "shared with other work; tracing the suite once to map tests to lines adds two minutes or so.",
              "The runs:", ""]
    for i, command in enumerate(commands, 1):
        run = next(r for r in runs.values() if r["command"] == command)
        reruns = sorted({c for r in runs.values() if r.get("command") == command for c in r.get("reruns", [])})
        lines.append(f"{i}. `{command}` ({run['date']}, {run['jobs']} job(s), {run['notebooks']}, "
                     f"{run['wall_minutes']} min in all)" + "".join(f"; then `{c}`" for c in reruns))
    lines += ["", "## Surviving mutants", "",
              "Why each survives: *equivalent* (no input the package accepts tells it apart), *speed* (only how",
              "fast it is), *message* (only an error message's text changes), *gap* (a real gap in the tests,",
              "left open). The gaps the first run found in the formula modules are closed by tests/test_mutants.py.",
              ""]
    for module in MODULES:
        rs = [r for r in results if r["module"] == module and r["status"] not in ("killed", "timeout")]
        if not rs: continue
        lines += [f"### {module}", "", "| mutant | edit | why | |", "|---|---|---|---|"]
        for r in sorted(rs, key=lambda r: r["line"]):
            why, note = notes.get(r["key"], ("unexplained", ""))
            status = "" if r["status"] == "survived" else f" ({r['status']}: no test runs it)" \
                if r["status"] == "uncovered" else f" ({r['status']})"
            lines.append(f"| `{r['key']}` | `{shown(r['diff'][0])}` → `{shown(r['diff'][1])}` | {why}{status} "
                         f"| {note} |")
        lines.append("")
    pathlib.Path(path).write_text("\n".join(lines) + "\n")


PAGE_HEAD = """# Mutation testing

How many small wrong edits of bpnotes' code the test suite catches. `bench/mutation.py` makes the edits
(an operator swapped, a number changed, a comparison flipped, a transpose dropped, two arguments swapped, a
statement removed, a returned value replaced by None: its docstring lists them all), writes each into a copy
of the package and runs, with `pytest -x`, the tests that execute the edited lines (found by tracing the
suite once). A mutant is *killed* when a test fails. The tests that catch any edit whatever it does
(test_sync.py, test_docs.py, test_package.py) are left out, and so are the notebook runs (test_notebooks.py,
test_proofs.py), so the score is that of tests/ alone; `--notebooks` puts them back.

The mlp and gradcheck rows are a random sample: every mutant of the two modules (1,704) in a random order,
run for 45 minutes (`--minutes 45`) on a machine shared with other work. A full run is about 2.5 hours
there: a surviving mutant runs every test that executes its line, up to 13 minutes for one. Every survivor
of the sample is looked at below; the *gap* ones are real gaps in the tests, left open.

Reproduce a module's row with its command below (`--report bench/MUTATION.md` rewrites this page from
bench/mutation-results.json and the reasons in bench/mutation-survivors.txt).
"""


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("modules", nargs="*", default=MODULES, help=f"modules to mutate (default: {' '.join(MODULES)})")
    p.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    p.add_argument("--sample", type=float, default=None, help="run this fraction of each module's mutants")
    p.add_argument("--seed", type=int, default=0, help="seed for --sample (default 0)")
    p.add_argument("--notebooks", action="store_true", help="also run the notebooks that execute a mutant")
    p.add_argument("--timeout-factor", type=float, default=5.0, help="timeout: this times the baseline + 20 s")
    p.add_argument("--out", default=str(RESULTS), help="results file (JSON), merged by module")
    p.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "bpnotes-mutation"),
                   help="where the coverage map is kept between runs")
    p.add_argument("--list", action="store_true", help="list the mutants and stop")
    p.add_argument("--show", metavar="KEY", help="print one mutant's edit and stop")
    p.add_argument("--only", metavar="PATTERN", help="run only the mutants whose key matches this glob pattern")
    p.add_argument("--report", metavar="MARKDOWN", help="write the results page from --out and stop")
    p.add_argument("--no-nice", action="store_true", help="keep this process's priority")
    p.add_argument("--minutes", type=float, default=None,
                   help="time box: start no mutant after this many minutes; the mutants are run in a random "
                        "order (--seed), so those run are a random sample, and each row says what share ran")
    args = p.parse_args()
    for m in args.modules:
        if m not in MODULES and not (ROOT / "bpnotes" / f"{m}.py").exists(): p.error(f"no module bpnotes/{m}.py")
    out = pathlib.Path(args.out)

    if args.report:
        report(json.loads(out.read_text()), args.report, read_notes())
        return
    mutants = [m for module in args.modules for m in find_mutants(module)]
    if args.show:
        for m in mutants:
            if m["key"] == args.show: print(f"{m['key']}\n- {m['diff'][0]}\n+ {m['diff'][1]}")
        return
    if args.list:
        for m in mutants: print(f"{m['key']:55}  {m['diff'][1][:70]}")
        print(f"{len(mutants)} mutants")
        return
    if args.only: mutants = [m for m in mutants if fnmatch.fnmatchcase(m["key"], args.only)]
    sampled = {}
    if args.sample is not None:
        rng, kept = random.Random(args.seed), []
        for module in args.modules:
            ms = [m for m in mutants if m["module"] == module]
            chosen = sorted(rng.sample(range(len(ms)), max(1, round(args.sample * len(ms)))))
            kept += [ms[i] for i in chosen]; sampled[module] = args.sample
        mutants = kept
    if args.minutes is not None: random.Random(args.seed).shuffle(mutants)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # clean up the scratch folder when stopped
    if not args.no_nice: os.nice(10)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"): os.environ[var] = "1"
    preimport()
    assert "bpnotes" not in sys.modules, "the parent must not import bpnotes: the children import the mutants"
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bpnotes-mutation-") as scratch:
        scratch = pathlib.Path(scratch)
        seconds, lines = coverage_map(scratch, args.notebooks, args.cache)
        results = run_mutants(mutants, args.jobs, scratch, seconds, lines, args.timeout_factor, args.minutes)
    if args.minutes is not None:              # the share of each module's mutants that ran in the time box
        total_of = {module: len(find_mutants(module)) for module in args.modules}
        sampled = {module: sum(r["module"] == module for r in results) / total_of[module]
                   for module in args.modules}
    total = time.perf_counter() - start

    old = json.loads(out.read_text()) if out.exists() else {"results": [], "runs": {}}
    command = " ".join(["python bench/mutation.py", *sys.argv[1:]])
    runs = dict(old["runs"])
    if args.only:                             # a partial run: its mutants replace theirs, the runs stay
        keys = {r["key"] for r in results}
        keep = [r for r in old["results"] if r["key"] not in keys]
        for module in {r["module"] for r in results}:
            runs.setdefault(module, {}).setdefault("reruns", []).append(command)
    else:
        keep = [r for r in old["results"] if r["module"] not in args.modules]
        for module in args.modules:
            runs[module] = dict(command=command, date=time.strftime("%Y-%m-%d"), jobs=args.jobs,
                                notebooks="notebook runs included" if args.notebooks else "notebook runs left out",
                                sampled=sampled.get(module), wall_minutes=round(total / 60, 1))
    for r in results: r.pop("source", None); r.pop("edits", None)
    out.write_text(json.dumps({"runs": runs, "results": keep + results}, indent=1, ensure_ascii=False) + "\n")
    counts = {}
    for r in results:
        counts.setdefault(r["module"], {}).setdefault(r["status"], 0)
        counts[r["module"]][r["status"]] += 1
    for module, c in counts.items(): print(module, c)
    print(f"{len(results)} mutants in {total / 60:.1f} min; results in {out}")


if __name__ == "__main__":
    main()
