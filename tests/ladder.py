"""The ladder, measured: every rung of progression/ and microgpt.py, run in full and measured as
tests/experiment.py measures microgpt.py. A script, not a test. From the repository root:

    python3 tests/ladder.py        # CPython's seconds
    pypy3 tests/ladder.py          # PyPy's

It prints a table, a row per rung, under the uniform guess: the lines changed from the rung below;
the loss on the 500 names experiment.py holds out, and e to that loss, the "effective choices" (as
unsure as a fair pick among that many of the 27 tokens); the seconds of a full run (`python rung.py`
in a fresh directory, as tests/benchmark.py times it); the first samples. Every figure comes from
one full run of each rung; the losses and samples are the same on every Python, the seconds are this
machine's.
"""
import difflib
import math
import os
import platform
import re
import subprocess
import sys

from benchmark import run

RUNGS = [f'progression/train{i}.py' for i in range(5)] + ['microgpt.py', 'progression/faster.py']
IDEAS = ['bigram counts', 'an MLP, gradients by hand, SGD', 'autograd',
         'attention, rmsnorm, residuals', 'heads and layers', 'Adam', 'fewer, bigger nodes']

if not os.path.exists('input.txt'):
    sys.exit('ladder: run it from the directory that holds input.txt (the repository root)')
print(f"python {sys.version.split()[0]} ({sys.implementation.name}) on {platform.machine()}, "
      f"{os.cpu_count()} cores", flush=True)
print('| rung | its idea | lines changed | held-out loss | effective choices | seconds '
      '| its first samples |')
print('|---|---|---|---|---|---|---|')
print(f'| uniform guess | | | {math.log(27):.3f} | 27.0 | | |')
below = None
for rung, idea in zip(RUNGS, IDEAS):
    text = open(rung, encoding='utf-8').read()
    changed = '' if below is None else sum(
        line[:1] in '+-' and not line.startswith(('+++', '---'))
        for line in difflib.unified_diff(below.split('\n'), text.split('\n'), lineterm=''))
    below = text
    seconds, _, _ = run(text)
    measured = subprocess.run([sys.executable, 'tests/experiment.py'],
                              env=dict(os.environ, MICROGPT=rung),
                              capture_output=True, check=True).stdout.decode('utf-8')
    held_out = float(re.search(r'held-out loss.*?:\s+([\d.]+)', measured).group(1))
    samples = re.search(r'first five samples:\s+(.*)', measured).group(1).split(', ')[:3]
    print(f"| {rung} | {idea} | {changed} | {held_out:.3f} | {math.exp(held_out):.1f} | "
          f"{seconds:.1f} | {', '.join(samples)} |", flush=True)
