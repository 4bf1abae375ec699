"""Shared helpers: load the real microgpt.py, run it as a user would.

The suite checks what this repository ships: microgpt.py, the ladder in progression/, the lessons
and the README, and the check (tests/check.py) on copies made from them. A learner checks an edited
copy with tests/check.py, not with this suite. Tests marked `reference` pin a figure of the shipped
model (the reference's losses, the order weights are drawn in, Adam's formula) or of the shipped
ladder: they tell a developer when one of those moved.

Most of what the suite runs on microgpt.py is the check itself (tests/checks.py): test_check.py runs
every named check on it, so the suite and the check can never disagree about what a right model is.
"""
import contextlib
import functools
import gc
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from checks import Copy, Stop, no_cycle_collector, run_main

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / 'microgpt.py'
# The reference algorithm's first five losses with seed 42 on the names in input.txt: the figures
# any faithful copy prints (the README shows the run they come from)
SPEC_LOSSES = ['3.3660', '3.4243', '3.1778', '3.0664', '3.2209']
REFERENCE_NOTE = ('This test pins a figure of the shipped model or ladder. If you changed it on '
                  'purpose, this failure is expected; check a changed model with '
                  'tests/check.py')


def same(expected):
    """Values computed two ways (by the script, and by a formula worked by hand in another order)
    differ only by rounding, about 1e-16 relative per operation: 1e-12 leaves room for thousands of
    roundings and nothing else."""
    return pytest.approx(expected, rel=1e-12, abs=1e-15)


def edit(source, **settings):
    """Change setting lines such as `n_layer = 1` (at any indentation) in place, as a reader
    edits the file."""
    for name, value in settings.items():
        source, found = re.subn(rf'^([ \t]*){name} = .*$', rf'\g<1>{name} = {value!r}', source,
                                count=1, flags=re.M)
        assert found == 1, f'no `{name} = ...` line to edit'
    return source


def load(cwd=ROOT, path=None, **settings):
    """A fresh module of microgpt.py (or the file at path), as an import gives it: data, tokenizer,
    model, nothing trained; input.txt read from cwd; what it printed in `import_output`."""
    copy = Copy(path or SCRIPT)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        mg = copy.load(cwd, **settings)
    mg.import_output = mg.__import_output__
    return mg


def first_steps(mg, steps):
    """Run the file's own __main__ block, num_steps as it is (so the learning rate decays as in a
    full run), and stop it as step `steps + 1` starts. Its step lines, and the documents it read."""
    real, calls = mg.document_loss, []

    def document_loss(doc):
        if len(calls) == steps:
            raise Stop
        calls.append(doc)
        return real(doc)
    mg.document_loss = document_loss
    try:
        out, _ = run_main(mg, cwd=ROOT, sample=False)
    finally:
        mg.document_loss = real
    return [line for line in out.split('\r') if line], calls


def lines_of(output):
    """The lines of a run's output, bytes or text, however its system ends them: a step line ends
    in \\r; Windows writes each \\n as \\r\\n, so the line after the last step starts after
    \\r\\r\\n. Empty lines carry nothing in microgpt's output and are dropped."""
    if isinstance(output, bytes):
        output = output.decode('utf-8')
    return [line for line in re.split(r'\r\n|\r|\n', output) if line]


@functools.lru_cache(maxsize=None)
def short_cell(path):
    """What a file prints run as a notebook cell runs it (its __main__ block too) in the repository
    root, edited to one step, samples of one token at most and half the width (the fewest, cheapest
    forward passes); run once, then remembered."""
    source = (ROOT / path).read_text(encoding='utf-8')
    narrow = dict(n_embd=8) if re.search(r'^n_embd = ', source, flags=re.M) else {}
    cell = edit(source, num_steps=1, block_size=1, **narrow)
    here = os.getcwd()
    os.chdir(ROOT)
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out, no_cycle_collector():
            exec(compile(cell, path, 'exec'), {'__name__': '__main__'})
    finally:
        os.chdir(here)
    return out.getvalue()


def pytest_configure(config):
    config.addinivalue_line('markers', 'reference: pins a figure of the shipped model or ladder')


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing `reference` test says, under its traceback, what that means."""
    report = (yield).get_result()
    if (report.failed and item.get_closest_marker('reference')
            and hasattr(report.longrepr, 'addsection')):
        report.longrepr.addsection('a reference figure', REFERENCE_NOTE)


NOTES = []  # lines for the end of the run: what the suite could not check here, and why


def pytest_collection_modifyitems(items):
    """Tests that wait for other processes (other interpreters, the check on copies) go last, and
    their modules start those processes as soon as collection is done: they run on a second core
    beside the rest."""
    items.sort(key=lambda item: hasattr(item.module, 'start_in_background'))


def pytest_collection_finish(session):
    for module in sorted({item.module for item in session.items
                          if hasattr(item.module, 'start_in_background')},
                         key=lambda module: module.__name__):
        module.start_in_background()


def pytest_terminal_summary(terminalreporter):
    for note in NOTES:
        terminalreporter.write_line(note)


@pytest.fixture(autouse=True)
def collector_paused():
    """Every test runs with the cycle collector paused: it would re-scan each graph the test
    builds, for nothing (faster.py's lesson says why). Back on after each test."""
    with no_cycle_collector():
        yield


def run_script(directory, env=None, wrapper=None, path=SCRIPT, **settings):
    """Copy microgpt.py (or the file at path; settings edited, if any) into `directory` as
    microgpt.py and run it there as `python microgpt.py`, or through `wrapper`, Python code that
    ends by running microgpt.py."""
    source = edit(Path(path).read_text(encoding='utf-8'), **settings)
    (Path(directory) / 'microgpt.py').write_text(source, encoding='utf-8')
    full_env = {k: v for k, v in os.environ.items() if not k.upper().endswith('_PROXY')}
    full_env.update(env or {})
    command = [sys.executable, '-c', wrapper] if wrapper else [sys.executable, 'microgpt.py']
    return subprocess.run(command, cwd=directory, env=full_env, capture_output=True, timeout=120)


def live_nodes(mg):
    return sum(type(o) is mg.Value for o in gc.get_objects())
