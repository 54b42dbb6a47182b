"""Check the site's fix for collapsible callouts with axe-core in headless Chromium, without Quarto.

    python bench/callout_a11y.py

Quarto 1.10 renders `::: {.callout-tip collapse="true"}` (the exercise hints and solutions) with a <div> header that
carries aria-expanded and aria-label but no role: axe-core and Lighthouse report it (aria-allowed-attr, critical).
nbs/_quarto.yml adds a script after every page's body that makes those headers buttons. This script builds a page
with two such callouts in Quarto 1.10's markup, Bootstrap 5's collapse (as Quarto ships it) and axe-core, runs axe on
it without the fix and with the script taken from nbs/_quarto.yml, and presses Enter and Space on a header to check
that the keyboard opens and closes it. Needs chromium and npm (axe-core and bootstrap are installed, once, into
~/.cache/bpnotes-bench). Exit status 1 if the fixed page has any axe violation or the keyboard does not work.
"""
import html, json, pathlib, re, shutil, subprocess, sys, tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
CACHE = pathlib.Path.home() / '.cache' / 'bpnotes-bench'

# Quarto 1.10's markup for a collapsed callout, as it renders `::: {.callout-tip collapse="true"}` + `## Hint`
CALLOUT = """
<div class="callout callout-style-default callout-{kind} callout-titled">
<div class="callout-header d-flex align-content-center collapsed" data-bs-toggle="collapse" data-bs-target=".callout-{n}-contents" aria-controls="callout-{n}" aria-expanded="false" aria-label="Toggle callout">
<div class="callout-icon-container">
<i class="callout-icon"></i>
</div>
<div class="callout-title-container flex-fill">
{title}
</div>
<div class="callout-btn-toggle d-inline-block border-0 py-1 ps-1 pe-0 float-end"><i class="callout-toggle"></i></div>
</div>
<div id="callout-{n}" class="callout-{n}-contents callout-collapse collapse">
<div class="callout-body-container callout-body">
<p>{body}</p>
</div>
</div>
</div>
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Callouts</title>
<link rel="stylesheet" href="file://{bootstrap}/css/bootstrap.min.css">
<script src="file://{bootstrap}/js/bootstrap.bundle.min.js"></script>
<script src="file://{axe}"></script>
</head><body><main><h1>Exercises</h1>
<p><strong>1.</strong> A question.</p>
{callouts}
</main>
{fix}
<script>
const wait = ms => new Promise(done => setTimeout(done, ms));
async function check() {{
  const result = {{}};
  const found = await axe.run(document);
  result.violations = found.violations.map(v => [v.id, v.impact, v.nodes.length]);
  const header = document.querySelector('.callout-header'), body = document.querySelector('#callout-1');
  result.header = [header.getAttribute('role'), header.getAttribute('tabindex'), header.getAttribute('aria-label')];
  const press = async key => {{
    header.focus();
    header.dispatchEvent(new KeyboardEvent('keydown', {{key, bubbles: true, cancelable: true}}));
    await wait(1000);                                   // Bootstrap's collapse transition
    return [header.getAttribute('aria-expanded'), body.classList.contains('show')];
  }};
  result.enter = await press('Enter');                 // opens
  result.space = await press(' ');                     // closes
  result.focused = document.activeElement === header;
  document.body.setAttribute('data-result', JSON.stringify(result));
}}
window.addEventListener('load', check);
</script>
</body></html>
"""


def npm_package(name):
    "The folder of an npm package in the cache, installed there the first time"
    folder = CACHE / 'node_modules' / name.split('@')[0]
    if not folder.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(['npm', 'install', '--silent', '--no-audit', '--no-fund', '--prefix', str(CACHE), name],
                       check=True, timeout=600)
    return folder


def site_fix():
    "The script that nbs/_quarto.yml includes after every page's body"
    includes = yaml.safe_load((ROOT / 'nbs' / '_quarto.yml').read_text())['format']['html']['include-after-body']
    return '\n'.join(item['text'] for item in includes if 'callout-header' in item.get('text', ''))


def run(fix):
    "axe's violations and the keyboard's effect on a page of callouts, with or without the fix"
    axe, bootstrap = npm_package('axe-core@4') / 'axe.min.js', npm_package('bootstrap@5') / 'dist'
    callouts = ''.join(CALLOUT.format(kind=kind, n=n, title=title, body='Folded text.')
                       for n, (kind, title) in enumerate([('tip', 'Hint'), ('tip', 'Solution')], start=1))
    with tempfile.TemporaryDirectory() as work:
        page = pathlib.Path(work) / 'callouts.html'
        page.write_text(PAGE.format(bootstrap=bootstrap, axe=axe, callouts=callouts, fix=fix))
        out = subprocess.run(['chromium', '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
                              '--allow-file-access-from-files', f'--user-data-dir={work}/profile',
                              '--virtual-time-budget=20000', '--dump-dom', f'file://{page}'],
                             capture_output=True, text=True, timeout=180).stdout
    return json.loads(html.unescape(re.search(r'data-result="([^"]*)"', out).group(1)))


if __name__ == '__main__':
    if not shutil.which('chromium'): sys.exit("needs chromium (apt install chromium)")
    before, after = run(''), run(site_fix())
    for name, r in [("Quarto's markup as it is", before), ("with the fix of nbs/_quarto.yml", after)]:
        print(f"{name}:")
        print(f"  axe-core violations: {r['violations'] or 'none'}")
        print(f"  header role, tabindex, aria-label: {r['header']}")
        print(f"  Enter: aria-expanded {r['enter'][0]}, open {r['enter'][1]}; "
              f"Space: aria-expanded {r['space'][0]}, open {r['space'][1]}; focus kept: {r['focused']}")
    ok = (after['violations'] == [] and after['enter'] == ['true', True] and after['space'] == ['false', False]
          and before['violations'] != [])
    print("the fix works" if ok else "THE FIX DOES NOT WORK")
    sys.exit(0 if ok else 1)
