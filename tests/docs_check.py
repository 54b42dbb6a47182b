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
