"""Check learners' copies of microgpt.py (or of a rung), a line per copy. A script, not a test.
From the repository root, with the Python that has pytest (the README's .venv):

    .venv/bin/python tests/check.py alice.py bob.py       # copies
    .venv/bin/python tests/check.py submissions/          # every .py file in a folder
    .venv\\Scripts\\python tests\\check.py submissions\\     # the same on Windows

Each copy gets the check a learner runs on their own, `python -m pytest -m "not reference"` with
MICROGPT naming the copy, to its first failure; the checks of the machine (other interpreters) and
of the shipped ladder are left out, as they say nothing of the copy. A line per copy: passed, with
how many checks ran and how many did not apply; or the first failure's own words.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

copies = []
for arg in sys.argv[1:]:
    path = Path(arg)
    copies += sorted(path.glob('*.py')) if path.is_dir() else [path]
if not copies:
    sys.exit(__doc__)
for copy in copies:
    if not copy.is_file():
        print(f'{copy}: no such file')
        continue
    env = dict(os.environ, MICROGPT=str(copy.resolve()), MICROGPT_NESTED='1')
    result = subprocess.run([sys.executable, '-m', 'pytest', '-m', 'not reference', '-x', '-q',
                             '-p', 'no:cacheprovider'], cwd=ROOT, env=env, capture_output=True)
    out = result.stdout.decode('utf-8', 'replace')
    summary = (out.strip().splitlines()[-1] if out.strip()
               else result.stderr.decode('utf-8', 'replace'))
    if result.returncode == 0:
        passed = re.search(r'(\d+) passed', summary)
        skipped = re.search(r'(\d+) skipped', summary)
        print(f'{copy}: passed ({passed.group(1) if passed else 0} checks; '
              f'{skipped.group(1) if skipped else 0} did not apply)')
    else:
        error = (re.search(r'^E +(\w*Error: .*)$', out, flags=re.M)
                 or re.search(r'^E +(.*)$', out, flags=re.M))
        test = re.search(r'^FAILED (\S+)', out, flags=re.M)
        print(f'{copy}: FAILED {test.group(1) if test else ""}: '
              f'{error.group(1) if error else summary}')
