"""Checks on notebooks as nbdev processes them for the docs site (the `_proc/` folder Quarto renders).

Each `check_*` function takes processed notebooks (as plain JSON dicts) and returns a list of problems,
each a readable string; an empty list means the check passed. They need neither Quarto nor a network.
"""
import re

import yaml

# nbdev keeps every directive as a leading `#| key: value` line, which Quarto reads as a cell option and does
# not show; a cell still marked with one of these should not be on the page at all
HIDING = {"hide", "export", "exporti", "default_exp"}


def source(cell):
    s = cell.get("source", "")
    return "".join(s) if isinstance(s, list) else (s or "")


def front_matter(nb):
    "The YAML front matter nbdev puts in the first (raw) cell, or `{}`"
    cells = nb.get("cells", [])
    if not cells or cells[0]["cell_type"] != "raw":
        return {}
    m = re.match(r"^---\s*\n(.*?)\n---\s*$", source(cells[0]).strip(), flags=re.S)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}


def check_titles(pages):
    "Every page has a title and a description in its front matter"
    problems = []
    for name, nb in pages.items():
        fm = front_matter(nb)
        for key in ("title", "description"):
            if not str(fm.get(key, "")).strip():
                problems.append(f"{name}: no {key} in the front matter")
    return problems


def check_directives(pages):
    "No `#|` line reaches the reader: only `key: value` options at the top of a cell, none of them hiding it"
    problems = []
    for name, nb in pages.items():
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "code":
                continue
            lines = source(cell).splitlines()
            n = 0
            while n < len(lines) and lines[n].startswith("#|"):
                option = re.match(r"^#\|\s*([\w-]+)\s*:", lines[n])
                if not option:
                    problems.append(f"{name}, cell {i}: `{lines[n]}` is not a Quarto option line")
                elif option.group(1) in HIDING:
                    problems.append(f"{name}, cell {i}: a cell marked `{option.group(1)}` is shown on the page")
                n += 1
            problems += [f"{name}, cell {i}: `{l}` is below the code, where Quarto shows it"
                         for l in lines[n:] if l.lstrip().startswith("#|")]
    return problems


def _strip_code(text):
    text = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def latex_problems(text):
    "Unbalanced `$$`, `$` or `\\begin{..}`/`\\end{..}` in one piece of markdown"
    text = _strip_code(text)
    problems = []
    if text.count("$$") % 2:
        problems.append("odd number of $$")
    inline = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)
    if len(re.findall(r"(?<!\\)\$", inline)) % 2:
        problems.append("odd number of $")
    stack = []
    for kind, env in re.findall(r"\\(begin|end)\{([^}]*)\}", text):
        if kind == "begin":
            stack.append(env)
        elif not stack or stack.pop() != env:
            problems.append(f"\\end{{{env}}} without a matching \\begin")
    problems += [f"\\begin{{{env}}} is never closed" for env in stack]
    return problems


def _markdown_texts(nb):
    "Markdown cells and markdown outputs (show_doc's docstrings): everything that goes through the math renderer"
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            yield i, source(cell)
        for out in cell.get("outputs", []):
            md = out.get("data", {}).get("text/markdown")
            if md:
                yield i, "".join(md)


def check_latex(pages):
    "Every formula is balanced, in prose and in the rendered docstrings"
    return [f"{name}, cell {i}: {p}" for name, nb in pages.items() for i, text in _markdown_texts(nb)
            for p in latex_problems(text)]


def check_figures(pages):
    "Every captioned figure cell carries its saved image, and has alt text"
    problems = []
    for name, nb in pages.items():
        for i, cell in enumerate(nb["cells"]):
            src = source(cell)
            if cell["cell_type"] != "code" or "#| fig-cap" not in src:
                continue
            if not any("image/png" in o.get("data", {}) for o in cell.get("outputs", [])):
                problems.append(f"{name}, cell {i}: a captioned figure without a saved image")
            if "#| fig-alt" not in src:
                problems.append(f"{name}, cell {i}: a figure without alt text (#| fig-alt)")
    return problems


def anchors(nb):
    "Explicit `{#id}` anchors, Pandoc's automatic heading ids, and show_doc's headings (nbdev's link targets)"
    ids = set()
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            md = "".join(out.get("data", {}).get("text/markdown", ""))
            ids.update(name.lower() for name in re.findall(r"^#+\s+(\S+)\s*$", md, flags=re.M))
        if cell["cell_type"] != "markdown":
            continue
        text = source(cell)
        ids.update(re.findall(r"\{#([\w:.-]+)", text))
        for heading in re.findall(r"^#+\s+(.*?)\s*$", text, flags=re.M):
            slug = re.sub(r"[^\w\s.-]", "", re.sub(r"\{.*?\}", "", heading)).strip().lower()
            ids.add(re.sub(r"\s+", "-", slug).lstrip("0123456789.-"))
    return ids


SITE = "https://bpnotes.github.io/bpnotes/"   # nbdev.yml's site-url: nbdev links names in backticks to it


def check_links(pages):
    "Relative links, and nbdev's links to the site, point at pages of the site and at anchors they have"
    by_html = {front_matter(nb).get("output-file", name): nb for name, nb in pages.items()}
    problems = []
    for name, nb in pages.items():
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] != "markdown":
                continue
            # nbdev links `name` in backticks to its docs; inside a link's text that nests a link in a link
            problems += [f"{name}, cell {i}: a link inside a link: {m[:60]}"
                         for m in re.findall(r"\[[^\]\n]*\[`[^`\n]+`\]\([^)\n]*\)[^\]\n]*\]\(", source(cell))]
            for target in re.findall(r"\]\(([^)\s]+)\)", _strip_code(source(cell))):
                if target.startswith(SITE):
                    target = target[len(SITE):]
                elif re.match(r"^[a-z]+:", target):
                    continue
                page, _, anchor = target.partition("#")
                dest = by_html.get(page) if page else nb
                if dest is None:
                    problems.append(f"{name}, cell {i}: link to {target}, but there is no page {page}")
                elif anchor and anchor not in anchors(dest):
                    problems.append(f"{name}, cell {i}: link to {target}, but that page has no anchor #{anchor}")
    return problems


def documented_names(pages):
    "Names with a show_doc entry somewhere on the site (`### name` headings in markdown outputs)"
    names = set()
    for nb in pages.values():
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                names.update(re.findall(r"^#+\s+(\S+)\s*$", "".join(out.get("data", {}).get("text/markdown", "")), flags=re.M))
    return names


def shown_names(pages):
    "Names whose source is shown on a page: top-level def and class statements of visible exported cells"
    import ast
    names = set()
    for nb in pages.values():
        for cell in nb["cells"]:
            if cell["cell_type"] != "code" or not re.search(r"^#\|\s*exports\b", source(cell), flags=re.M):
                continue
            code = "\n".join(l for l in source(cell).splitlines() if not l.startswith("#|"))
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            names.update(node.name for node in tree.body
                         if isinstance(node, (ast.FunctionDef, ast.ClassDef)))
    return names


def check_code_width(pages, limit=80):
    "Every line of code a reader sees fits the text column: shown code, show_doc signatures, cell outputs"
    problems = []
    for name, nb in pages.items():
        for i, cell in enumerate(nb["cells"]):
            if cell["cell_type"] == "code":
                shown = not re.search(r"^#\|\s*echo:\s*false", source(cell), flags=re.M)
                blocks = [("code", [l for l in source(cell).splitlines() if shown and not l.startswith("#|")])]
                for out in cell.get("outputs", []):
                    text = out.get("text") or out.get("data", {}).get("text/plain")
                    markdown = out.get("data", {}).get("text/markdown")
                    if markdown:     # show_doc signatures and reports: only their fenced code blocks
                        fenced = re.findall(r"```\w*\n(.*?)```", "".join(markdown), flags=re.S)
                        blocks += [("signature", block.splitlines()) for block in fenced]
                    elif text and not any(k.startswith("image/") for k in out.get("data", {})):
                        blocks.append(("output", "".join(text).splitlines()))
            else:
                blocks = [("code", b.splitlines()) for b in re.findall(r"```\w*\n(.*?)```", source(cell), flags=re.S)]
            for kind, lines in blocks:
                problems += [f"{name}, cell {i}: {kind} line of {len(l)} characters: {l[:50]}…"
                             for l in lines if len(l) > limit]
    return problems


def check_sidebar(sidebar_yml, notebooks):
    "The sidebar lists every notebook once, and nothing else"
    def entries(contents):
        for c in contents:
            if isinstance(c, dict):
                yield from entries(c.get("contents", []))
                if "href" in c:
                    yield c["href"]
            else:
                yield c
    listed = list(entries(yaml.safe_load(sidebar_yml)["website"]["sidebar"]["contents"]))
    problems = [f"sidebar lists {e}, which is not a notebook" for e in listed if e not in notebooks]
    problems += [f"{nb} is missing from the sidebar" for nb in notebooks if nb not in listed]
    problems += [f"sidebar lists {e} twice" for e in set(listed) if listed.count(e) > 1]
    return problems


# ---- the notation: retired symbols, and every symbol listed on the notation page ----

def shown_text(nb):
    """What a reader sees on a page, as (cell, kind, text): kind "prose" for markdown cells and markdown outputs
    (generated sentences, show_doc docstrings), "caption" for figure captions and alt text, "code" for shown code,
    show_doc signatures and printed outputs. Cells marked hide/export and `include: false` show nothing;
    `echo: false` hides the code but not what it prints."""
    for i, cell in enumerate(nb["cells"]):
        text = source(cell)
        if cell["cell_type"] == "markdown":
            yield i, "prose", text
            continue
        if cell["cell_type"] != "code":
            continue
        options = {k: v.strip().strip('"') for k, v in re.findall(r"^#\|\s*([\w-]+)\s*:\s*(.*)$", text, flags=re.M)}
        flags = set(re.findall(r"^#\|\s*(\w+)\s*$", text, flags=re.M))
        if flags & HIDING or options.get("include") == "false":
            continue
        if options.get("echo") != "false":
            yield i, "code", "\n".join(l for l in text.splitlines() if not l.startswith("#|"))
        for key in ("fig-cap", "fig-alt"):
            if key in options:
                yield i, "caption", options[key].replace("\\\\", "\\")
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            md = data.get("text/markdown")
            if md:
                md = "".join(md)
                yield i, "prose", re.sub(r"```\w*\n.*?```", "", md, flags=re.S)
                yield from ((i, "code", block) for block in re.findall(r"```\w*\n(.*?)```", md, flags=re.S))
            elif not any(k.startswith("image/") for k in data):
                printed = out.get("text") or data.get("text/plain")
                if printed:
                    yield i, "code", "".join(printed)


def maths(text):
    "The LaTeX formulas of a piece of markdown ($…$ and $$…$$), code spans and blocks left out"
    text = _strip_code(text)
    return [a or b for a, b in re.findall(r"\$\$(.*?)\$\$|(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$", text, flags=re.S)]


# Words inside a formula that are not symbols: \text{…}, \operatorname{…} and the like, environment names
_WORDS = re.compile(r"\\(?:text\w*|operatorname|mathrm|mathit|mathtt|begin|end)\s*\{[^{}]*\}")
# Greek letters and other commands that name a symbol (the rest, \frac, \sum, \partial, …, are operators)
SYMBOL_COMMANDS = {"alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "kappa", "lambda", "mu", "sigma",
                   "theta", "Theta", "varphi", "phi", "psi", "ell", "tau", "rho", "eta", "omega", "nu", "xi", "pi",
                   "Delta", "Sigma", "Phi", "Psi", "Gamma", "Lambda", "Omega", "zeta", "chi", "iota", "nabla"}


# Notation that is not a letter but needs saying once: norms, inner products, and named operators (\operatorname{tr})
OPERATORS = [(r"\\[lr]?Vert(?![A-Za-z])|\\\||‖", "‖·‖"), (r"\\[lr]angle(?![A-Za-z])|[⟨⟩]", "⟨·,·⟩")]


def letters(formula):
    """The symbols of one formula: its Latin letters, Greek letters (\\alpha), calligraphic ones (\\mathcal L),
    norms ‖·‖, inner products ⟨·,·⟩ and named operators (\\operatorname{tr})"""
    found = {token for pattern, token in OPERATORS if re.search(pattern, formula)}
    found |= {f"\\operatorname{{{name.strip()}}}" for name in re.findall(r"\\operatorname\s*\{([^{}]*)\}", formula)}
    f = _WORDS.sub(" ", formula)
    found |= {f"\\mathcal {c}" for c in re.findall(r"\\mathcal\s*\{?\s*([A-Z])", f)}
    f = re.sub(r"\\mathcal\s*\{?\s*[A-Z]\}?", " ", f)
    found |= {"\\" + c for c in re.findall(r"\\([A-Za-z]+)", f) if c in SYMBOL_COMMANDS}
    f = re.sub(r"\\[A-Za-z]+", " ", f)
    return found | set(re.findall(r"[A-Za-z]", f))


def _prepared(formula):
    "A formula without its words (\\text{…}, environment names), calligraphic letters as one character: 𝓛, 𝒩"
    f = _WORDS.sub(" ", formula)
    return re.sub(r"\\mathcal\s*\{?\s*([A-Z])\s*\}?", lambda m: chr(0x1D4D0 + ord(m.group(1)) - 65), f)


# A retired symbol: what it was, where to look (in formulas, or in shown code and captions as plain text), and
# a pattern that finds it. Only forms a pattern can tell apart are here; the notation page lists them all.
RETIRED = [
    # (name, what to write instead, where: "math" for formulas, "text" for code and the plain text around formulas, pattern)
    ("w_ℓ, a layer's width", "p_ℓ", "math", r"(?<![A-Za-z\\])w_(?:\{?\\ell|\{?[0D](?![0-9])|\{?k\b)"),
    ("w_ℓ, a layer's width", "p_ℓ", "text", r"\bw_(?:ℓ|l\b|\{l|\{ℓ|0\b|D\b|k\b)"),
    ("a as an input index, (W_i)_{aj}", "q: (W_i)_{qj}, x_q",
     "math", r"_\{(?:a[a-z]|[a-z]a)\}|(?<![A-Za-z\\])[xX]_a(?![A-Za-z])"),
    ("i as an index", "q for an input, j for a hidden unit",
     "math", r"_\{(?:i[a-z]|[a-z]i)\}|(?<![A-Za-z\\])[xhozXHOZ]_i(?![A-Za-z])"),
    ("z_k, an entry of an output pre-activation", "(z_o)_k; (z_h)_j",
     "math", r"(?<![A-Za-z\\])z_(?!h(?![A-Za-z0-9])|o(?![A-Za-z0-9])|\{[ho][},])(?:\{[^}]*\}|\\?[A-Za-z0-9]+)"),
    ("z_k, an entry of an output pre-activation", "(z_o)_k in prose; z_o[k] in code and tables",
     "text", r"(?<![A-Za-z0-9_\\])z_(?:\{[kl]\}|[kl](?![A-Za-z0-9_]))"),
    ("Z_{o,sk}, an entry with the matrix's subscript", "(Z_o)_{sk}, (z_h)_j", "math", r"[zZ]_\{[ho],"),
    ("o_{sk}, a batch entry in lower case", "O_{sk}, Y_{sk}, H_{sj}, X_{sq}",
     "math", r"(?<![A-Za-z\\])[oyhxz]_\{s[A-Za-z\\]"),
    ("c (a row maximum, a curvature, a fan-out, a constant)", "μ, κ, fan_out", "math", r"(?<![A-Za-z\\])c(?![A-Za-z])"),
    ("k as a fan-in or a layer index", "fan_in; ℓ", "math", r"(?<![A-Za-z\\])k\s*=\s*\\ell"),
    ("g as the initialisation gain", "γ", "math", r"(?<![A-Za-z\\])g\s*\^|(?<![A-Za-z\\])g\s*=\s*\\sqrt"),
    ("g as the initialisation gain", "γ", "text", r"\bg²|\bg = √"),
    ("L as a number of layers", "D (𝓛 is the loss)", "math", r"(?<![A-Za-z\\])L(?![A-Za-z])"),
    ("L as a number of layers", "D = len(sizes) - 1", "text", r"\bL\s*=\s*len\("),
    ("b as a row index", "s", "math", r"_\{b[a-z]\}|(?<![A-Za-z\\])b\s*=\s*1\b"),
    ("θ for a layer's stacked weights and bias", "W̃_ℓ", "math", r"\\theta\s*=\s*(?:\\(?:left|big|Big)\s*\(\s*)?W"),
    ("a, b for a layer's sizes", "for fan_in, fan_out in zip(sizes, sizes[1:])", "text",
     r"for\s+a\s*,\s*b\s+in\s+zip\("),
]


def retired_uses(nb, retired=RETIRED, skip_cells=()):
    "Every use of a retired symbol on one page: (cell, kind, retired name, what to write, the text found)"
    found = []
    for i, kind, text in shown_text(nb):
        if i in skip_cells:
            continue
        formulas = maths(text) if kind in ("prose", "caption") else []
        for name, instead, where, pattern in retired:
            if where == "math":
                pieces = [_prepared(f) for f in formulas]
            elif kind == "code":
                pieces = [text]
            else:     # prose and captions, their formulas left out
                pieces = [re.sub(r"\$\$.*?\$\$|\$.*?\$", "", text, flags=re.S)]
            for piece in pieces:
                found += [(i, kind, name, instead, m.group(0)) for m in re.finditer(pattern, piece)]
    return found


def check_retired(pages, retired=RETIRED, skip=None):
    "No page uses a retired symbol, in its formulas, captions or shown code; skip: {page: cells} to leave out"
    skip = skip or {}
    return [f"{name}, cell {i} ({kind}): {found!r} is {what}; write {instead}"
            for name, nb in pages.items()
            for i, kind, what, instead, found in retired_uses(nb, retired, skip.get(name, ()))]


def notation_table(nb):
    """The symbols the notation page lists: {symbol: meaning} from the first two columns of its tables, the table
    of retired symbols (under a heading with "Retired" in it) left out; a symbol listed twice is an error"""
    table, problems, retired = {}, [], False
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        for line in source(cell).splitlines():
            if line.startswith("#"):
                retired = "retired" in line.lower()
            if retired or not line.startswith("|") or re.match(r"^\|[\s:|-]*\|$", line):
                continue
            cols = [c.strip() for c in line.strip().strip("|").split("|")]
            for symbol in re.findall(r"\$(.+?)\$", re.sub(r"\\\|", "", cols[0])):
                symbol = re.sub(r"\s+", " ", symbol.strip())
                if symbol in table:
                    problems.append(f"the notation page lists ${symbol}$ twice")
                table[symbol] = cols[1] if len(cols) > 1 else ""
    return table, problems


def retired_cells(nb):
    "Cells of the notation page that show retired symbols on purpose: its table of retired symbols"
    return {i for i, cell in enumerate(nb["cells"])
            if cell["cell_type"] == "markdown" and re.search(r"^#+ .*[Rr]etired", source(cell), flags=re.M)}


def unlisted_symbols(nb, listed, skip_cells=()):
    "Symbols in the formulas and captions of one page that the notation page's tables do not list: {symbol: cells}"
    missing = {}
    for i, kind, text in shown_text(nb):
        if kind == "code" or i in skip_cells:
            continue
        for f in maths(text):
            for symbol in letters(f) - listed:
                missing.setdefault(symbol, set()).add(i)
    return missing


def check_symbols_listed(pages, notation_nb):
    "Every symbol of every page's formulas is listed on the notation page, which lists each once"
    table, problems = notation_table(notation_nb)
    listed = set().union(*(letters(s) for s in table)) if table else set()
    for name, nb in pages.items():
        skip = retired_cells(nb) if nb is notation_nb else ()
        for symbol, cells in sorted(unlisted_symbols(nb, listed, skip).items()):
            problems.append(f"{name}: ${symbol}$ (cells {', '.join(map(str, sorted(cells)))}) is not on the "
                            "notation page")
    return problems
