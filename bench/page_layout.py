"""How the docs pages will measure when Quarto renders them: an approximate render, for machines without Quarto.

    python bench/page_layout.py                    # every page
    python bench/page_layout.py single_value ...   # some pages; DETAIL=1 lists each code block's height
                                                   # and each formula wider than the column

Runs nbdev's processing (as tests/test_docs.py does, no Quarto) on a copy of the project, turns each processed
page into HTML with pandoc (folded code and collapsed callouts shown folded, show_doc signatures and shown cells as
source code, outputs as output blocks), lays it out in headless Chromium at 1440 px, and reports per page: its length
in screens of 1000 px, the share of its height that is source code, how many code blocks scroll sideways, and how
many display formulas are wider than the text column. A second layout at 390 px, a phone, reports whether the page
scrolls sideways there, and what sticks out (a display formula may scroll inside its own box, as the site's
styles.css lets it). Needs Debian's pandoc and chromium (apt install pandoc chromium).

Math is typeset by MathJax 3, as on the site: the script installs npm's `mathjax@3` into ~/.cache/bpnotes-bench
the first time (or uses the tex-chtml-full.js named by $MATHJAX). Without npm it falls back to pandoc's MathML,
whose formulas come out narrower than MathJax's, and says so.

Calibrated against Quarto 1.10's render of commit 221421b (the site-review measurements): on seven pages the code
share came out within 1.5 points of Quarto's and the block counts were equal; lengths came out about 10 % short,
so they are scaled by 1.1 here. DESIGN.md's bars for the section pages: code at most 25 %, at most 12 screens.
"""
import base64, html, json, os, pathlib, re, shutil, struct, subprocess, sys, tempfile

CSS = """
body { font-family: 'DejaVu Sans', sans-serif; font-size: 16px; line-height: 1.5; margin: 0; color: #212529; }
main { max-width: %(COL)dpx; margin: 40px auto; padding: 0 16px; }
h1 { font-size: 2.2rem; margin: 1.2rem 0 0.5rem; } h2 { font-size: 1.6rem; margin-top: 2rem; border-bottom: 1px solid #dee2e6; padding-bottom: .5rem }
h3 { font-size: 1.3rem; margin-top: 1.5rem; }
p { margin: 0 0 1rem; }
pre { font-family: 'DejaVu Sans Mono', monospace; font-size: %(CODEPX)spx; line-height: 1.4; padding: 0.4rem; margin: 0 0 1rem; white-space: pre; overflow-x: auto; }
pre.src { background: #f8f9fa; }
pre.out { background: none; border-left: 2px solid lightsalmon; margin-left: .8rem; }
img { max-width: 100%%; height: auto; display: block; margin: 0 auto; }
figcaption { font-size: .9rem; margin: .5rem 0 1rem; }
table { border-collapse: collapse; margin-bottom: 1rem; font-size: .9rem } td, th { padding: .25rem .5rem; border-bottom: 1px solid #dee2e6 }
.callout { border-left: 5px solid #ffc107; padding: .5rem 1rem; margin: 1rem 0; }
.folded { font-size: .9rem; margin: 0 0 .5rem; color: #555; }
math[display=block] { margin: 1rem 0; font-size: 1.15em; }
.sd { border-top: 1px solid #dee2e6; }
table { width: 100%%; }
"""

def src(c):
    "A notebook cell's source as one string"
    s = c.get('source', '')
    return ''.join(s) if isinstance(s, list) else s

def options(code):
    "A code cell's #| options as a dict, and its code without them"
    opts, body = {}, []
    for line in code.splitlines():
        m = re.match(r'^#\|\s*([\w-]+)\s*:\s*(.*)$', line)
        if m and not body: opts[m.group(1)] = m.group(2).strip()
        else: body.append(line)
    return opts, '\n'.join(body)

def collapse_callouts(text):
    "Collapsed callouts show only their title (its `## ` line, or 'Solution')"
    out, skip = [], 0
    for line in text.splitlines():
        if skip:
            if line.strip().startswith(':::'): skip = 0
            elif skip == 2 and line.strip():
                title = line.lstrip('#').strip() if line.startswith('#') else 'Solution'
                out.append(f'<div class="folded">▶ {html.escape(title)}</div>'); skip = 1
            continue
        if re.match(r'^:::\s*\{.*collapse="true"', line):
            skip = 2; continue
        out.append(line)
    return '\n'.join(out)

def to_markdown(nb):
    "The page as Quarto would show it, in Markdown: front matter, prose, shown code and saved outputs"
    parts = []
    cells = nb['cells']
    if cells and cells[0]['cell_type'] == 'raw':
        m = re.search(r'title:\s*(.*)', src(cells[0])); d = re.search(r'description:\s*(.*)', src(cells[0]))
        parts.append(f"# {m.group(1).strip(chr(34)) if m else ''}\n\n*{d.group(1).strip(chr(34)) if d else ''}*\n")
        cells = cells[1:]
    text = []
    for c in cells:
        if c['cell_type'] == 'markdown':
            text.append(src(c)); continue
        if c['cell_type'] != 'code': continue
        opts, body = options(src(c))
        if opts.get('echo') == 'false' or opts.get('include') == 'false': show = False
        else: show = bool(body.strip())
        if show:
            if opts.get('code-fold') == 'true':
                text.append('<div class="folded">▶ Code</div>')
            else:
                if opts.get('code-fold') == 'show': text.append('<div class="folded">▼ Exported source</div>')
                text.append('<pre class="src">' + html.escape(body) + '</pre>')
        for o in c.get('outputs', []):
            data = o.get('data', {})
            if 'image/png' in data:
                png = data['image/png']; png = ''.join(png) if isinstance(png, list) else png
                cap = opts.get('fig-cap', '').strip('"').replace('\\\\', '\\')
                raw = base64.b64decode(png)
                width = struct.unpack('>I', raw[16:20])[0]
                text.append(f'<figure><img src="data:image/png;base64,{png.strip()}" style="width:{min(width, 2000)}px"><figcaption>{html.escape(cap)}</figcaption></figure>')
            elif 'text/markdown' in data:
                md = data['text/markdown']; md = ''.join(md) if isinstance(md, list) else md
                text.append('\n<div class="sd">\n\n' + md + '\n\n</div>\n')
            elif 'text/plain' in data or o.get('output_type') == 'stream':
                t = o.get('text') or data.get('text/plain')
                t = ''.join(t) if isinstance(t, list) else t
                if t and t.strip(): text.append('<pre class="out">' + html.escape(t.rstrip()) + '</pre>')
    body = collapse_callouts('\n\n'.join(text))
    # show_doc code blocks are source code on the site
    body = re.sub(r'```python\n(.*?)```', lambda m: '<pre class="src">' + html.escape(m.group(1)) + '</pre>', body, flags=re.S)
    body = re.sub(r'^:::\s*\{[^}]*\}\s*$', '<div class="callout">', body, flags=re.M)
    body = re.sub(r'^:::\s*$', '</div>', body, flags=re.M)
    return '\n'.join(parts) + '\n' + body

JS = """
<script>
function measure() {
  const total = document.documentElement.scrollHeight;
  let code = 0; document.querySelectorAll('pre.src').forEach(p => code += p.getBoundingClientRect().height);
  let wide = 0; document.querySelectorAll('pre').forEach(p => { if (p.scrollWidth > p.clientWidth + 1) wide += 1; });
  const each = []; document.querySelectorAll('pre.src').forEach(p => each.push([Math.round(p.getBoundingClientRect().height), p.textContent.slice(0, 50)]));
  const main = document.querySelector('main'), column = main.clientWidth - 32;   // less main's padding
  const formulas = [];     // [width in px, TeX] of every display formula, as typeset
  if (window.MathJax && MathJax.startup && MathJax.startup.document) {
    for (const item of MathJax.startup.document.math) {
      if (!item.display || !item.typesetRoot) continue;
      const box = item.typesetRoot.querySelector('mjx-math') || item.typesetRoot;
      formulas.push([Math.round(box.getBoundingClientRect().width), item.math.trim().slice(0, 70)]);
    }
  } else {
    document.querySelectorAll('math[display=block]').forEach(m => formulas.push([Math.round(m.getBoundingClientRect().width), m.textContent.trim().slice(0, 70)]));
  }
  const view = document.documentElement.clientWidth, sticking = [];
  const inside = formulas.filter(f => f[0] > column + 1).length;    // display formulas that scroll in their box
  const scrollsInside = el => {           // inside a box that scrolls or clips sideways (pre, display math, a table)
    for (let a = el.parentElement; a && !a.matches('main'); a = a.parentElement)
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(a).overflowX)) return true;
    return false;
  };
  document.querySelectorAll('main *').forEach(el => {
    if (el.getBoundingClientRect().right <= view + 1 || el.closest('mjx-assistive-mml') || scrollsInside(el)) return;
    const parent = el.parentElement;                                   // the outermost element that sticks out only
    if (parent && !parent.matches('main') && parent.getBoundingClientRect().right > view + 1 && !scrollsInside(parent)
        && !['auto', 'scroll', 'hidden'].includes(getComputedStyle(parent).overflowX)) return;
    if (['auto', 'scroll'].includes(getComputedStyle(el).overflowX) && el.clientWidth <= view) return;
    const kind = el.closest('mjx-container, .math.inline') || el.querySelector('mjx-container') ? 'formula' : el.tagName.toLowerCase();
    sticking.push(kind + ': ' + el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 50));
  });
  document.body.setAttribute('data-measure', JSON.stringify({total, code, wide, blocks: document.querySelectorAll('pre.src').length, each,
    column, formulas, inside, mathjax: !!window.MathJax, scrolls: document.documentElement.scrollWidth > view + 1, sticking}));
}
window.addEventListener('load', () => {
  if (window.MathJax && MathJax.startup) MathJax.startup.promise.then(measure); else measure();
});
</script>
"""

def mathjax():
    "The path of MathJax 3's tex-chtml-full.js ($MATHJAX, or npm's mathjax@3 in a cache folder), or None"
    if os.environ.get('MATHJAX'): return pathlib.Path(os.environ['MATHJAX'])
    cache = pathlib.Path.home() / '.cache' / 'bpnotes-bench'
    script = cache / 'node_modules' / 'mathjax' / 'es5' / 'tex-chtml-full.js'
    if not script.exists() and shutil.which('npm'):
        print(f"installing MathJax 3 from npm into {cache} (once)", file=sys.stderr)
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(['npm', 'install', '--silent', '--no-audit', '--no-fund', '--prefix', str(cache), 'mathjax@3'],
                       check=False, capture_output=True, timeout=600)
    return script if script.exists() else None

def measure(html_path, width=1440):
    "What headless Chromium measures on a rendered page at this window width, as a dict"
    with tempfile.TemporaryDirectory() as profile_dir:
        out = subprocess.run(['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                              '--disable-background-networking', '--disable-component-update', '--disable-sync',
                              '--allow-file-access-from-files', f'--user-data-dir={profile_dir}',
                              f'--window-size={width},1000', '--virtual-time-budget=30000',
                              '--dump-dom', f'file://{html_path}'], capture_output=True, text=True, timeout=180).stdout
    m = re.search(r"data-measure=\"([^\"]*)\"", out)
    return json.loads(html.unescape(m.group(1)))

def main(project, pages, col=760, codepx=14, scale=1.1):
    "Render each page with pandoc, measure it in Chromium at 1440 px and at 390 px, and print a line per page"
    results, script = {}, mathjax()
    if script is None: print("MathJax not found: formulas as MathML, narrower than on the site", file=sys.stderr)
    with tempfile.TemporaryDirectory() as work:
        for p in sorted((pathlib.Path(project) / '_proc').glob('*.ipynb')):
            name = re.sub(r'^\d+_', '', p.stem)
            if pages and name not in pages: continue
            page = render(p, name, pathlib.Path(work), col, codepx, script)
            r = results[name] = measure(page)
            phone = r['phone'] = measure(page, width=390)
            wide = [(w, tex) for w, tex in r['formulas'] if w > r['column'] + 1]
            culprits = sorted({what.split(':')[0] for what in phone['sticking']})
            print(f"{name:>18}: {r['total'] * scale / 1000:5.1f} screens, code {100 * r['code'] / r['total']:4.1f} %, "
                  f"{r['blocks']} code blocks, {r['wide']} wide; formulas {len(wide)} of {len(r['formulas'])} wider than "
                  f"the column; phone: " + (f"scrolls sideways ({', '.join(culprits) or '?'})" if phone['scrolls']
                                           else "no sideways scroll") + f", {phone['inside']} formulas scroll in their box",
                  flush=True)
            if os.environ.get('DETAIL'):
                for h, t in r['each']: print(f"      {h:5d}  {t!r}")
                for w, tex in wide: print(f"      formula {w} px > column {r['column']} px: {tex!r}")
                for what in phone['sticking']: print(f"      on a phone, sticks out: {what!r}")
    return results

def render(p, name, work, col, codepx, script=None):
    "The processed notebook p as a standalone HTML page in the folder work, with the measuring script: its path"
    (work / f'{name}.md').write_text(to_markdown(json.loads(p.read_text())))
    (work / 'style.css').write_text(CSS % dict(COL=col, CODEPX=codepx))
    shutil.copy(pathlib.Path(p).parents[1] / 'nbs' / 'styles.css', work / 'site.css')     # the site's own rules
    math = [f'--mathjax=file://{script}'] if script else ['--mathml']
    subprocess.run(['pandoc', '--quiet', '-f', 'markdown-raw_tex+tex_math_dollars', '-t', 'html5', *math, '-s',
                    '--css', 'style.css', '--css', 'site.css', '--metadata', f'pagetitle={name}', '-o', str(work / f'{name}.html'),
                    str(work / f'{name}.md')], check=True)
    page = work / f'{name}.html'
    page.write_text(page.read_text().replace('<body>', '<body><main>').replace('</body>', '</main>' + JS + '</body>'))
    return page

def processed_copy():
    "A copy of the project with nbdev's processed pages in _proc/"
    root = pathlib.Path(__file__).resolve().parents[1]
    tmp = pathlib.Path(tempfile.mkdtemp())
    shutil.copy(root / 'pyproject.toml', tmp)
    for d in ('nbs', 'bpnotes'): shutil.copytree(root / d, tmp / d, ignore=shutil.ignore_patterns('__pycache__'))
    subprocess.run([sys.executable, '-c', 'from nbdev.serve import proc_nbs; proc_nbs(n_workers=0)'],
                   cwd=tmp, check=True, capture_output=True)
    return tmp


if __name__ == '__main__':
    project = processed_copy()
    try: main(project, sys.argv[1:])
    finally: shutil.rmtree(project)
