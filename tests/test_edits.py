"""Changed copies of microgpt.py, checked as a learner checks them:
`python -m pytest -m "not reference"` with MICROGPT naming the copy. These are nested runs of this
suite; they leave out this file and the checks of other interpreters and of the ladder
(MICROGPT_NESTED=1), which test the suite and the machine.

- Homework a course assigns, all in one copy (tests/solutions.py): GELU (on a new `tanh`), LoRA on
  the queries (B starts at 0, the base weights frozen: left out of params), rotary embeddings on the
  queries and keys (wpe removed), a top-2 mixture of experts in place of the MLP, momentum SGD in
  place of Adam, and a `clamp(lo, hi)` operation. The check must pass.
- The classic mistakes, each planted in that copy alone: the check must fail, naming what is wrong.
  Each runs here, in this process, the one check that names it (an operation's, or a test of
  test_model.py), on the mistaken copy: the whole check runs the same code, and fails the same way.
- The rungs a learner may check: progression/train3.py (single-head attention) and
  progression/faster.py (fewer, bigger nodes) pass the check; faster.py prints what microgpt.py
  prints, byte for byte.
- The lessons' sort without recursion, applied to the shipped file: the same bytes, at any depth.
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import conftest
from conftest import CHECK_EDITED, ROOT, SCRIPT, edit, load

if os.environ.get('MICROGPT_NESTED') == '1':
    pytest.skip('a nested run does not run itself again', allow_module_level=True)
try:
    from solutions import HOMEWORK, MISTAKES
except ImportError:  # a student's copy, without the solutions
    HOMEWORK, MISTAKES = None, {}
# These edits find lines of the shipped file; once a learner has changed those lines they cannot
# apply, which is expected. Hence `reference`, and the edits are made only when the tests run.
pytestmark = pytest.mark.reference


def apply(source, edits):
    """Each edit is (a piece of one line, what replaces that whole line): '{line}' in the new text
    stands for the line as it was, so an edit can add lines around it; '' removes it."""
    for piece, new in edits:
        lines = [line for line in source.split('\n') if piece in line]
        assert len(lines) == 1, f'{SCRIPT.name} has {len(lines)} lines with {piece!r}, not one'
        new = new.replace('{line}', lines[0])
        source = source.replace(lines[0] + '\n', new + '\n' if new else '')
    return source


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
    """Start, in the background, `command` on a copy of the source make_source() gives: 'run' runs
    it as a learner does, 'deep' runs DEEP with it, 'check' runs the check."""
    try:
        source = make_source()
    except AssertionError as error:  # the file no longer has a line an edit changes
        RUNS[name] = error
        return
    copy = DIRECTORY / f'copy{len(RUNS)}' / 'microgpt.py'
    copy.parent.mkdir()
    copy.write_text(source, encoding='utf-8')
    (copy.parent / 'input.txt').write_bytes((ROOT / 'input.txt').read_bytes())
    if command in ('run', 'deep'):
        what = ['microgpt.py'] if command == 'run' else ['-c', DEEP]
        RUNS[name] = subprocess.Popen([sys.executable] + what, cwd=copy.parent,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    else:
        check = [sys.executable, '-m', 'pytest', '-m', 'not reference', '-q', '-p',
                 'no:cacheprovider']
        RUNS[name] = subprocess.Popen(check, cwd=ROOT,
                                      env=dict(os.environ, MICROGPT=str(copy), MICROGPT_NESTED='1'),
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def start_in_background():
    shipped = SCRIPT.read_text(encoding='utf-8')
    if HOMEWORK:
        start('homework', lambda: apply(shipped, HOMEWORK), 'check')
    for rung in ('train3', 'faster'):
        start(rung,
              lambda rung=rung: (ROOT / 'progression' / f'{rung}.py').read_text(encoding='utf-8'),
              'check')
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


def passes(name):
    returncode, out = output(name)
    summary = out.strip().splitlines()[-1]
    assert (returncode == 0 and 'passed' in summary and 'failed' not in summary
            and 'error' not in summary), \
        f'{CHECK_EDITED} fails on {name}:\n{out}'


@pytest.mark.skipif(not HOMEWORK, reason='tests/solutions.py is not here (a student copy): the '
                                         'homework and the classic mistakes are not checked')
def test_the_check_passes_the_homework_of_a_course():
    passes('homework')


@pytest.mark.parametrize('name', MISTAKES)
def test_the_check_names_a_classic_mistake(name, tmp_path, monkeypatch):
    changes, words, check = MISTAKES[name]
    mistaken = tmp_path / 'microgpt.py'
    mistaken.write_text(apply(apply(SCRIPT.read_text(encoding='utf-8'), HOMEWORK), changes),
                        encoding='utf-8')
    with pytest.raises(AssertionError) as failure:
        if check.startswith('Value.'):
            from operations import check_operation
            check_operation(load(path=mistaken), check)
        else:
            import test_model
            monkeypatch.setattr(conftest, 'SCRIPT', mistaken)  # load() reads the mistaken copy
            getattr(test_model, check)()
    for word in words:
        assert word in str(failure.value), (f'{CHECK_EDITED} does not say {word!r} of {name}:\n'
                                            f'{failure.value}')


@pytest.mark.parametrize('rung', ['train3', 'faster'])
def test_the_check_passes_a_rung_of_the_ladder(rung):
    passes(rung)


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
