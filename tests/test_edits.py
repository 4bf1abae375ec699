"""Edits the lessons teach, made to copies of microgpt.py and run as a learner runs them:
progression/faster.py (fewer, bigger nodes, and the collector paused) prints what microgpt.py
prints, byte for byte; and the lessons' sort without recursion, applied to the shipped file, prints
the same bytes and gets the gradient right at any depth.
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, SCRIPT, edit


def depth_edit():
    """The sort without recursion that the lessons show: the ```diff block under their heading "A
    sort without recursion", as (old text, new text): lines starting with ' ' or '-' are the old
    text; with ' ' or '+', the new."""
    lessons = (ROOT / 'progression' / 'README.md').read_text(encoding='utf-8')
    heading = '\n### A sort without recursion'
    section = (lessons.split(heading, 1) + [''])[1].split('\n#', 1)[0]
    blocks = re.findall(r'^```diff\n(.*?)^```', section, flags=re.M | re.S)
    assert len(blocks) == 1, (f'progression/README.md shows {len(blocks)} edits under "A sort '
                              f'without recursion", not one')
    lines = blocks[0].rstrip('\n').split('\n')
    return ('\n'.join(line[1:] for line in lines if line[:1] in ' -'),
            '\n'.join(line[1:] for line in lines if line[:1] in ' +'))


def apply_diff(source, old, new):
    assert source.count(old) == 1, f'{SCRIPT.name} does not hold this text once:\n{old}'
    return source.replace(old, new)


RUNS = {}  # name: a running process (or the error that kept it from starting)
DIRECTORY = Path(tempfile.mkdtemp(prefix='microgpt-edits-'))
SHORT = dict(num_steps=2, block_size=2)  # the runs compared byte for byte: 2 steps, then 20 samples
DEEP = r'''
import contextlib, io, sys
with contextlib.redirect_stdout(io.StringIO()):
    import microgpt
x = leaf = microgpt.Value(0.5)
for _ in range(100 * sys.getrecursionlimit()):  # a graph far deeper than any recursion could go
    x = x + 1.0
x.backward()
print('right gradient' if leaf.grad == 1 else 'WRONG gradient')
'''


def start(name, make_source, command):
    """Start, in the background, a copy of the source make_source() gives: 'run' runs it as a
    learner does, 'deep' runs DEEP with it."""
    try:
        source = make_source()
    except AssertionError as error:  # the file no longer has a line an edit changes
        RUNS[name] = error
        return
    copy = DIRECTORY / f'copy{len(RUNS)}' / 'microgpt.py'
    copy.parent.mkdir()
    copy.write_text(source, encoding='utf-8')
    (copy.parent / 'input.txt').write_bytes((ROOT / 'input.txt').read_bytes())
    what = ['microgpt.py'] if command == 'run' else ['-c', DEEP]
    RUNS[name] = subprocess.Popen([sys.executable] + what, cwd=copy.parent,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def start_in_background():
    shipped = SCRIPT.read_text(encoding='utf-8')
    short = lambda source: edit(source, **SHORT)
    start('shipped, run', lambda: short(shipped), 'run')
    start('faster, run',
          lambda: short((ROOT / 'progression' / 'faster.py').read_text(encoding='utf-8')), 'run')
    start('the sort without recursion, run', lambda: short(apply_diff(shipped, *depth_edit())),
          'run')
    start('the sort without recursion, deep', lambda: apply_diff(shipped, *depth_edit()), 'deep')


def output(name):
    if isinstance(RUNS[name], AssertionError):
        raise RUNS[name]
    out = RUNS[name].communicate(timeout=300)[0].decode('utf-8', 'replace')
    return RUNS[name].returncode, out


def test_faster_prints_the_bytes_of_microgpt():
    shipped_code, shipped = output('shipped, run')
    code, faster = output('faster, run')
    assert shipped_code == 0 and code == 0, faster
    assert faster == shipped, (f'progression/faster.py prints:\n{faster}\n'
                               f'not, as microgpt.py does:\n{shipped}')


def test_the_sort_without_recursion_prints_the_same_bytes_at_any_depth():
    shipped_code, shipped = output('shipped, run')
    code, edited = output('the sort without recursion, run')
    assert shipped_code == 0 and code == 0 and edited == shipped, edited
    assert output('the sort without recursion, deep') == (0, 'right gradient\n')
