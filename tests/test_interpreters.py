"""The script on every other Python a learner may have: CPython 3.8 to 3.13 and PyPy.

Each interpreter found on this machine (on PATH as python3.X or pypy3, or installed by pyenv) runs a
quick check of the same microgpt.py: `import microgpt` loads and builds but trains nothing; its
training loop prints the same first step lines as the interpreter running this suite; the check's
`a training step` passes (no gradient left over, no step's graph kept, with CPython's cycle
collector paused); the file pasted into a notebook cell runs through; and a graph deeper than the
recursion limit stops with a RecursionError, not a dead interpreter. On PyPy, which frees memory
only with its collector, the memory of `pypy3 microgpt.py` must also stay flat as training goes on.
Every rung of the ladder (progression/) also runs, a step and short samples, and prints what it
prints here; by_hand.py prints what microgpt.py prints.

An interpreter that is not found is skipped and named at the end of the run; under CI
(MICROGPT_CI=1, set by .ci/run) it is a failure instead, as a machine there is meant to have them
all.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import NOTES, ROOT, SCRIPT, first_steps, load, short_cell

WANTED = ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13', 'pypy3']
UNDER_CI = os.environ.get('MICROGPT_CI') == '1'
STEPS_CHECKED, RSS_FROM, RSS_TO, RSS_GROWTH_MB = 3, 15, 60, 50  # PyPy: RSS at step 15 and 60
# the rungs below microgpt.py, and by_hand.py beside it (faster.py prints microgpt.py's bytes:
# tests/test_edits.py)
RUNGS = [f'progression/train{i}.py' for i in range(5)] + ['progression/by_hand.py']


def this_interpreter():
    return 'pypy3' if sys.implementation.name == 'pypy' else '%d.%d' % sys.version_info[:2]


def find(wanted):
    """The path of an interpreter that is really `wanted` (CPython 3.X, or PyPy), or None."""
    if wanted == 'pypy3':
        paths = [shutil.which('pypy3')]
    else:
        pyenv = Path(os.environ.get('PYENV_ROOT') or Path.home() / '.pyenv')
        paths = [shutil.which(f'python{wanted}')]
        paths += sorted(glob.glob(str(pyenv / 'versions' / f'{wanted}.*' / 'bin' / 'python')),
                        reverse=True)
    for path in filter(None, paths):
        try:
            out = subprocess.run([path, '-c', 'import sys; '
                                  'print(sys.implementation.name, *sys.version_info[:2])'],
                                 capture_output=True, timeout=30).stdout.decode().split()
        except (OSError, subprocess.SubprocessError):
            continue
        if out and (out[0] == 'pypy' if wanted == 'pypy3'
                    else out == ['cpython'] + wanted.split('.')):
            return path
    return None


# Run in the interpreter under test, with tests/checks.py beside the file: the import; the first
# steps of the file's own __main__ block, num_steps as it is; the check's `a training step` (no
# gradient left over, no graph kept); then the whole file as a notebook runs a cell, and each rung.
CHECKS = r'''
import contextlib, gc, io, json, os, re, sys
import checks
copy = checks.Copy('microgpt.py')
mg = copy.load()
report = {'import_printed': mg.__import_output__,
          'trained_on_import': any(p.grad != 0 for p in getattr(mg, 'params', []))}
real_document_loss, calls = mg.document_loss, []
def document_loss(doc):  # the first STEPS steps, then stopped
    if len(calls) == STEPS:
        raise checks.Stop
    calls.append(doc)
    return real_document_loss(doc)
mg.document_loss = document_loss
printed, _ = checks.run_main(mg, sample=False)
report['step_lines'] = [line for line in printed.split('\r') if line]
try:
    checks.check_a_training_step(copy)
    report['a training step'] = 'passed'
except checks.Failed as failure:
    report['a training step'] = str(failure)
sys.argv = ['ipykernel_launcher.py', '-f', '/tmp/kernel-1234.json']  # what a notebook kernel has
def short_cell(path):  # the file as a notebook cell runs it: one step, short samples
    cell = open(path, encoding='utf-8').read()
    for name, value in [('num_steps', 1), ('block_size', 1), ('n_embd', 8)]:
        cell = re.sub(r'^([ \t]*)%s = .*$' % name, r'\g<1>%s = %d' % (name, value), cell, count=1,
                      flags=re.M)
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(compile(cell, '<cell>', 'exec'), {'__name__': '__main__'})
    return printed.getvalue()
report.update(cell_printed=short_cell('microgpt.py'), collector_after_cell=gc.isenabled())
report['rungs'] = {path: short_cell(path) for path in RUNGS}
limit = sys.getrecursionlimit()
def depth_error(depth):  # backward() on a graph `depth` nodes deep: x + 1 + 1 + ...
    x = leaf = mg.Value(0.5)
    for _ in range(depth):
        x = x + 1.0
    try:
        x.backward()
        return leaf.grad == 1  # a sort without recursion (the lessons show one) goes any depth
    except RecursionError:
        return 'RecursionError'
report['below_the_limit'] = depth_error(limit - 100)
print(json.dumps(report), flush=True)  # before the deepest graph: an interpreter that dies there
report['past_the_limit'] = depth_error(100 * limit)  # far past it, for PyPy (see test_autograd.py)
print(json.dumps(report))
'''


class Check:
    """The checks of one interpreter, started at once and run in the background: `wait()` for
    them."""

    def __init__(self, python, directory, watch_memory):
        shutil.copy(ROOT / 'input.txt', directory)
        shutil.copy(SCRIPT, directory / 'microgpt.py')
        shutil.copy(ROOT / 'tests' / 'checks.py', directory / 'checks.py')
        for rung in RUNGS:
            shutil.copy(ROOT / rung, directory / Path(rung).name)
        rungs = [Path(rung).name for rung in RUNGS]
        self.checks = subprocess.Popen([python, '-c',
                                        f'STEPS = {STEPS_CHECKED}\nRUNGS = {rungs!r}\n' + CHECKS],
                                       cwd=directory, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)
        self.run, self.rss_mb = None, {}
        # the script itself, as `python microgpt.py` runs it, stopped at step RSS_TO
        if watch_memory:
            # PyPy sizes its young generation from the cache the CPU reports: on a machine that
            # reports 300 MB, its heap grew to 1.5 GB before the first full collection, leak or no
            # leak. With a fixed 4 MB it stays flat (about 105 MB) unless something keeps each
            # step's graph.
            self.run = subprocess.Popen([python, '-u', 'microgpt.py'], cwd=directory,
                                        env=dict(os.environ, PYPY_GC_NURSERY='4MB'),
                                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            self.reader = threading.Thread(target=self.read_steps, daemon=True)
            self.reader.start()

    def read_steps(self):
        """Read the run's step lines as they come (each ends in \\r), note its memory at steps
        RSS_FROM and RSS_TO, then stop it."""
        text, steps = '', 0
        while steps < RSS_TO:
            chunk = os.read(self.run.stdout.fileno(), 4096).decode('utf-8', 'replace')
            if not chunk:
                break
            text += chunk
            steps = sum(line.startswith('step') for line in re.split('[\r\n]', text)[:-1])
            for step in (RSS_FROM, RSS_TO):
                status = Path(f'/proc/{self.run.pid}/status')
                if steps >= step and step not in self.rss_mb and status.exists():
                    self.rss_mb[step] = int(re.search(r'VmRSS:\s+(\d+) kB',
                                                      status.read_text()).group(1)) / 1024
        self.run.kill()

    def wait(self):
        out, err = self.checks.communicate(timeout=120)
        if self.run:
            self.reader.join(timeout=120)
            self.run.wait(timeout=30)
        lines = out.decode().splitlines()
        report = json.loads(lines[-1]) if lines else {}
        if 'past_the_limit' in report or 'below_the_limit' not in report:
            assert self.checks.returncode == 0, err.decode('utf-8', 'replace')
        else:
            report['past_the_limit'] = (f'the interpreter died '
                                        f'(exit status {self.checks.returncode})')
        return report


CHECKS_STARTED = {}  # interpreter: its Check, or None where it is not found


def start_in_background():
    """Find every wanted interpreter and start its checks, all at once (conftest.py calls this as
    soon as the tests are collected, so that they run beside the rest of the suite)."""
    for wanted in WANTED:
        if wanted != this_interpreter():
            python = find(wanted)
            directory = Path(tempfile.mkdtemp(prefix=f'microgpt-{wanted}-'))
            CHECKS_STARTED[wanted] = python and Check(python, directory,
                                                      watch_memory=wanted == 'pypy3')
    missing = [wanted for wanted, check in CHECKS_STARTED.items() if check is None]
    if missing and not UNDER_CI:
        found = [wanted for wanted, check in CHECKS_STARTED.items() if check]
        NOTES.append(f'Other interpreters: checked {", ".join(found) or "none"}; not found here, '
                     f'so not checked: {", ".join(missing)}')


@pytest.fixture(scope='module')
def expected_steps():
    """The first step lines as this interpreter prints them, from the script's own loop."""
    return first_steps(load(), STEPS_CHECKED)[0]


def only_rounding(printed):
    """What a rung prints, its gradient check's figure aside: that figure is the rounding error of a
    finite difference (about 1e-10), and Python 3.12 and later add floats up with less of it (sum()
    became compensated), so it differs from one Python to the next. It must be small everywhere."""
    for figure in re.findall(r'largest difference (\S+)', printed):
        assert float(figure) < 1e-6, printed
    return re.sub(r'largest difference \S+', 'largest difference (rounding)', printed)


@pytest.fixture(scope='module')
def expected_rungs():
    """What each rung prints here, run as the other interpreters run it: one step, short samples."""
    return {Path(rung).name: short_cell(rung) for rung in RUNGS}


@pytest.mark.parametrize('wanted', WANTED)
def test_another_interpreter_runs_the_script_alike(wanted, expected_steps, expected_rungs):
    if wanted == this_interpreter():
        pytest.skip(f'{wanted} runs this suite: the other tests check it')
    check = CHECKS_STARTED.get(wanted)
    if check is None:
        message = (f'Python {wanted} was not found '
                   f'(python{wanted} on PATH, pyenv, or pypy3 on PATH)')
        if UNDER_CI:
            pytest.fail(f'{message}, and CI is meant to check it: install it (see .ci/run)')
        pytest.skip(message)
    report = check.wait()
    assert [line.split(':')[0] for line in report['import_printed'].splitlines()] == \
        ['num docs', 'vocab size', 'num params'], report['import_printed']
    assert not report['trained_on_import'] and 'step' not in report['import_printed']
    cell = report['cell_printed']
    assert 'step    1 /    1' in cell and 'sample 20: ' in cell, cell
    for rung, printed in expected_rungs.items():
        assert only_rounding(report['rungs'][rung]) == only_rounding(printed), \
            f'progression/{rung} prints something else here'

    assert report['collector_after_cell'], 'the notebook cell left the garbage collector off'
    assert report['step_lines'] == expected_steps
    assert report['a training step'] == 'passed', report['a training step']
    if (ROOT / 'progression' / 'by_hand.py').exists():  # microgpt.py's bytes, by hand
        assert report['rungs']['by_hand.py'] == cell, 'by_hand.py prints another run here'
    assert (report['below_the_limit'] is True
            and report['past_the_limit'] in ('RecursionError', True)), \
        (f"a graph deeper than the recursion limit must stop with a RecursionError, not: "
         f"{report['past_the_limit']}")
    if wanted == 'pypy3' and not check.rss_mb:
        NOTES.append('PyPy: memory not checked here (it is read from /proc, which only Linux has)')
    elif wanted == 'pypy3':
        growth = check.rss_mb[RSS_TO] - check.rss_mb[RSS_FROM]
        assert growth < RSS_GROWTH_MB, (f'PyPy: memory grew {growth:.0f} MB from step {RSS_FROM} '
                                        f'to step {RSS_TO} ({check.rss_mb}): '
                                        f'something keeps every step\'s graph')
