"""Shared helpers: load the real microgpt.py, run it as a user would, compare gradients.

The suite checks ./microgpt.py, or the file named by the environment variable MICROGPT (a learner's
edited copy, say, or a rung of the ladder in progression/). Tests marked `reference` pin the shipped
model's figures (the reference's losses, the order weights are drawn in, Adam's formula, the line
budget) and the shipped ladder: an edit to the model is expected to change them. `python -m pytest
-m "not reference"` runs everything that must hold for any correct GPT. A check that needs what the
file does not have (a lower rung has no Value, or no attention) is skipped, saying what and why.

What the suite relies on in the file: the top-level hyperparameter lines (`n_layer = 1`, ...), a
`Value` class whose nodes keep `_children` and `_local_grads`, `state_dict` (every weight matrix, by
name), `params` (the weights the optimizer trains), `docs`, `uchars`, `BOS`, `document_loss(doc)`,
`gpt(token_id, pos_id, keys, values)` with one cache list per layer, `train()` and `sample()`.
"""
import ast
import contextlib
import functools
import gc
import io
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(os.environ.get('MICROGPT') or ROOT / 'microgpt.py').resolve()
# The reference algorithm's first five losses with seed 42 on the names in input.txt: the figures
# any faithful copy prints (the README shows the run they come from)
SPEC_LOSSES = ['3.3660', '3.4243', '3.1778', '3.0664', '3.2209']
CHECK_EDITED = 'python -m pytest -m "not reference"'
REFERENCE_NOTE = (f'This test pins a figure of the shipped model. If you changed the model on '
                  f'purpose, this failure is expected: check your edit with {CHECK_EDITED}')

# Tolerances, one pair for every test; none is tuned per test.
# Gradients are checked against central differences, (f(x + H) - f(x - H)) / 2H, in double
# precision. Their error is about H**2 * |f'''| / 6 (truncation) plus eps * |f| / H (rounding,
# eps = 2.2e-16): with H = 1e-6 and the functions here (|f| and |f'''| below about 100) that is
# under 1e-8 absolute; measured over all the checks, at most 2.3e-9, under 4% of what a check
# allows. A gradient passes within RTOL relative plus ATOL absolute of the estimate, while a wrong
# local derivative, a lost branch or a cut path is off by a large fraction of the gradient itself.
# Values computed two ways (by the script, and by a formula worked by hand in another order) differ
# only by rounding, about 1e-16 relative per operation: `same` asks for agreement within 1e-12
# relative (1e-15 absolute, for values near 0), which leaves room for thousands of roundings and
# nothing else.
H, RTOL, ATOL = 1e-6, 1e-6, 1e-8


def top_level_names(path):
    """The names a file defines at its top level (functions, classes, assignments), read without
    running it."""
    names = set()
    for node in ast.parse(Path(path).read_text(encoding='utf-8')).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        for target in getattr(node, 'targets', []):
            names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


DEFINED = top_level_names(SCRIPT)
# what a file may lack, and why: the lower rungs of the ladder (progression/) lack these
WHY_MISSING = {
    'Value': 'it has no autograd (train0 counts; train1 works out its gradients by hand, and '
             'tests/test_ladder.py checks them)',
    'gpt': 'its model sees only the current token: no gpt(), no attention, no KV cache',
    'rmsnorm': 'it has no rmsnorm',
    'n_layer': 'it has one block, not a stack of layers',
    'n_head': 'its attention has a single head',
    'params': 'its weights are not Values in a list',
    'state_dict': 'it has no weight matrices: it counts',
}


def needs(*names):
    """A mark that skips a test, saying why, when the file under test does not define all of
    names."""
    missing = [name for name in names if name not in DEFINED]
    why = '; '.join(f'{SCRIPT.name} has no {name}: {WHY_MISSING.get(name, "the check needs it")}'
                    for name in missing)
    return pytest.mark.skipif(bool(missing), reason=why)


def require(*names):
    """At the top of a test module: skip the whole module, saying why, if the file lacks any of
    names."""
    mark = needs(*names)
    if mark.args[0]:
        pytest.skip(mark.kwargs['reason'], allow_module_level=True)


def empty_cache(mg):
    """A fresh KV cache for gpt(): a list of keys and a list of values, one of each per layer in a
    file with layers (a single block's cache is just the two lists)."""
    if hasattr(mg, 'n_layer'):
        return [[] for _ in range(mg.n_layer)], [[] for _ in range(mg.n_layer)]
    return [], []


def value_of(loss):
    """A document's loss as a number, whatever document_loss returns: a Value, a plain number
    (train0), or a number with its hand-worked gradients (train1)."""
    loss = loss[0] if isinstance(loss, tuple) else loss
    return getattr(loss, 'data', loss)


@functools.lru_cache(maxsize=None)
def short_cell(path):
    """What a file prints run as a notebook cell runs it (its last block too) in the repository
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


def weights(mg):
    """Every number the model has learned, in order: its weights (Values, or plain numbers in
    train1), or train0's counts."""
    matrices = mg.state_dict.values() if hasattr(mg, 'state_dict') else [mg.counts]
    return [getattr(w, 'data', w) for mat in matrices for row in mat for w in row]


def pytest_configure(config):
    config.addinivalue_line('markers', 'reference: pins a figure of the shipped model; an edit to '
                                       'the model is expected to change it '
                                       f'(leave these out: {CHECK_EDITED})')


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing `reference` test says, under its traceback, that an edit is expected to fail it."""
    report = (yield).get_result()
    if (report.failed and item.get_closest_marker('reference')
            and hasattr(report.longrepr, 'addsection')):
        report.longrepr.addsection('a reference figure', REFERENCE_NOTE)


NOTES = []  # lines for the end of the run: what the suite could not check here, and why


def pytest_collection_modifyitems(items):
    """Tests that wait for other processes (other interpreters, nested runs) go last, and their
    modules start those processes as soon as collection is done: they run on a second core beside
    the rest."""
    items.sort(key=lambda item: hasattr(item.module, 'start_in_background'))


def pytest_collection_finish(session):
    for module in {item.module for item in session.items
                   if hasattr(item.module, 'start_in_background')}:
        module.start_in_background()


def pytest_terminal_summary(terminalreporter):
    failed_reference = [r for r in terminalreporter.stats.get('failed', [])
                        if 'reference' in r.keywords]
    if failed_reference:
        terminalreporter.write_sep('-', f'{len(failed_reference)} reference test(s) failed')
        terminalreporter.write_line(REFERENCE_NOTE)
    for note in NOTES:
        terminalreporter.write_line(note)


def same(expected):
    return pytest.approx(expected, rel=1e-12, abs=1e-15)


def assert_close(analytic, numeric, what='', source='backward()'):
    assert abs(analytic - numeric) <= RTOL * max(abs(analytic), abs(numeric)) + ATOL, \
        f'{what}: {source} gives {analytic!r}, finite differences {numeric!r}'


@contextlib.contextmanager
def no_cycle_collector():
    """Speed for tests that build many graphs, as the script does: the graphs have no cycles to
    collect."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@pytest.fixture(autouse=True)
def collector_paused_as_the_script_trains():
    """Every test runs with the cycle collector paused, as the script trains: it would re-scan each
    graph the test builds (the script's comment says why), for nothing. Back on after each test."""
    with no_cycle_collector():
        yield


def edit(source, **hyperparameters):
    """Change top-level assignments such as `n_layer = 1` in place, as a reader edits the file."""
    for name, value in hyperparameters.items():
        source, found = re.subn(rf'^{name} = .*$', f'{name} = {value!r}', source, count=1,
                                flags=re.M)
        assert found == 1, f'{SCRIPT.name} has no top-level `{name} = ...` line'
    return source


def load(cwd=ROOT, path=None, **hyperparameters):
    """A fresh copy of the module microgpt.py (or the file at path) defines: data, tokenizer, model,
    nothing trained; read from input.txt in `cwd`. Fresh each time: the seed is set again and no
    other test's training leaks in."""
    path = Path(path or SCRIPT)
    source = edit(path.read_text(encoding='utf-8'), **hyperparameters)
    module = types.ModuleType('microgpt')
    module.__file__ = str(path)
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            exec(compile(source, str(path), 'exec'), module.__dict__)
    finally:
        os.chdir(here)
    module.import_output = out.getvalue()
    return module


class Stop(Exception):
    """Raised from inside train() to end it after a given number of steps."""


def train_steps(mg, steps):
    """Run the script's own train() for its first `steps` steps (num_steps as it is, so the learning
    rate decays as in a full run), then stop it. Returns what it printed, one string per step."""
    real_document_loss, calls = mg.document_loss, []
    def document_loss(doc):
        if len(calls) == steps:
            raise Stop
        calls.append(doc)
        return real_document_loss(doc)
    mg.document_loss = document_loss
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), no_cycle_collector():
            mg.train()
    except Stop:
        pass
    finally:
        mg.document_loss = real_document_loss
    return [line for line in out.getvalue().split('\r') if line]


def live_nodes(mg):
    """How many of the module's Value nodes are alive, garbage not yet collected included (CPython's
    gc.get_objects() lists every object it tracks; PyPy's lists what is still reachable)."""
    return sum(type(o) is mg.Value for o in gc.get_objects())


def trained_matrices(mg):
    """The names of the state_dict matrices whose weights are in params: the ones training changes.
    A matrix left out of params (frozen base weights under LoRA, say) is not among them."""
    in_params = {id(p) for p in mg.params}
    return [name for name, mat in mg.state_dict.items()
            if any(id(p) in in_params for row in mat for p in row)]


def run_script(directory, env=None, wrapper=None, **hyperparameters):
    """Copy microgpt.py (hyperparameters edited, if any) into `directory` and run it there as
    `python microgpt.py`, or through `wrapper`, Python code that ends by running microgpt.py."""
    source = edit(SCRIPT.read_text(encoding='utf-8'), **hyperparameters)
    (Path(directory) / 'microgpt.py').write_text(source, encoding='utf-8')
    full_env = {k: v for k, v in os.environ.items() if not k.upper().endswith('_PROXY')}
    full_env.update(env or {})
    command = [sys.executable, '-c', wrapper] if wrapper else [sys.executable, 'microgpt.py']
    return subprocess.run(command, cwd=directory, env=full_env, capture_output=True, timeout=120)
