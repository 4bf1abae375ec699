"""Check learners' copies of microgpt.py (or of a rung), a line per copy. A script, not a test.
From the repository root, with the Python that has pytest (the README's .venv):

    .venv/bin/python tests/check.py alice.py bob.py       # copies
    .venv/bin/python tests/check.py submissions/          # every .py file in a folder, or below it
    .venv\\Scripts\\python tests\\check.py submissions\\     # the same on Windows

Each copy gets the check a learner runs on their own, `python -m pytest -m "not reference"` with
MICROGPT naming the copy, to its first failure; the checks of the machine (other interpreters), of
the shipped ladder and of the file's handling of input.txt are left out, as they say nothing of the
copy's model. A line per copy: how many checks passed, and how many did not apply to the copy
(a rung's copy lacks what some checks need), and any operation it could not check; or the first
failure, in the check's own words. A copy that gives no result in 10 minutes fails. The exit status
is 1 if any copy failed. The check runs each copy's code, with your permissions.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 600  # seconds a copy may take: the check takes 10 to 30 on the machine the README names


def first_failure(out):
    """The first failure's own words: its E lines, without pytest's working out of the assert."""
    words = []
    for line in out.split('\n'):
        if line.startswith('E '):
            text = line[1:].strip()
            if text.startswith(('assert ', '+', 'where', 'and ', 'Regex')):
                if words:
                    break
                continue
            words.append(text)
        elif words:
            break
    return ' / '.join(words[:6])


copies = []
for arg in sys.argv[1:]:
    path = Path(arg)
    found = sorted(p for p in path.rglob('*.py') if '.venv' not in p.parts) if path.is_dir() else []
    copies += found if path.is_dir() else [path]
if not copies:
    sys.exit(__doc__)
failed = False
for copy in copies:
    if not copy.is_file():
        print(f'{copy}: no such file')
        failed = True
        continue
    env = dict(os.environ, MICROGPT=str(copy.resolve()), MICROGPT_NESTED='1')
    check = [sys.executable, '-m', 'pytest', '-m', 'not reference', '-x', '-q', '-rfs', '-p',
             'no:cacheprovider']
    try:
        result = subprocess.run(check, cwd=ROOT, env=env, capture_output=True, timeout=LIMIT)
    except subprocess.TimeoutExpired:
        print(f'{copy}: FAILED: no result in {LIMIT} seconds (a loop that never ends?)')
        failed = True
        continue
    out = result.stdout.decode('utf-8', 'replace')
    notes = re.findall(r'^(\S+: (?:not checked as an operation|NOT CHECKED).*)$', out, flags=re.M)
    if result.returncode == 0:
        passed = re.search(r'(\d+) passed', out)
        lacks = rf'^SKIPPED \[(\d+)\] .*{re.escape(copy.name)} has no'
        lacking = sum(int(n) for n in re.findall(lacks, out, flags=re.M))
        print(f'{copy}: passed ({passed.group(1) if passed else 0} checks'
              + (f'; {lacking} did not apply: the copy lacks what they need)' if lacking else ')')
              + ''.join(f'\n    {note}' for note in notes))
    else:
        failed = True
        test = re.search(r'^FAILED (\S+)', out, flags=re.M)
        words = first_failure(out) or out.strip()[-300:] or result.stderr.decode('utf-8', 'replace')
        print(f'{copy}: FAILED {test.group(1) if test else ""}: {words}')
sys.exit(1 if failed else 0)
