"""The ladder in progression/: train0 to train4, then microgpt.py (train5), then faster.py past the
top.

Every rung runs and prints in microgpt.py's format; its gradients match finite differences (worked
out by hand in train1, by autograd above it); its Value passes the operation checks; bad input stops
it, as it stops microgpt.py. Tests marked `reference` pin the shipped ladder: each rung differs from
the one below only where its idea lives, train2 prints train1's losses, and the lessons show the
real diffs.
"""
import ast
import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import checks
from checks import (Failed, Model, check_directions, check_weights, fresh_weights, run_main,
                    wrong_matrices)
from conftest import NOTES, ROOT, edit, lines_of, load, short_cell
from ladder import lines_changed

LADDER = [f'progression/train{i}.py' for i in range(5)] + ['microgpt.py']
RUNGS = LADDER + ['progression/faster.py']  # and one past the top: the same model, fewer nodes

# Where each rung's idea lives: the only places where it may differ from the rung below. A place is
# the opening comment ('"""'), a section ('# Model': from its comment to the next section's), a
# function ('def gpt'), the paragraph that sets a name ('n_layer ='), or the block that runs the
# file, its training and sampling loops ('if __name__').
IDEAS = {
    'progression/train1.py': ('weights, gradients worked out by hand, gradient descent',
                              ['"""', '# Parameters', '# Model', '# Gradients by hand',
                               'def document_loss', '# Gradient check', "if __name__"]),
    'progression/train2.py': ('autograd', ['"""', '# Autograd', '# Parameters', 'def softmax',
                                           'def mlp', '# Gradients by hand', 'def document_loss',
                                           '# Gradient check', "if __name__"]),
    'progression/train3.py': ('attention, rmsnorm, residuals', ['"""', '# Parameters', '# Model',
                                                               'def document_loss', "if __name__"]),
    'progression/train4.py': ('heads and layers', ['"""', '# Parameters', 'def gpt',
                                                   'def document_loss', "if __name__"]),
    'microgpt.py': ('Adam', ['"""', "if __name__"]),
    'progression/faster.py': ('fewer, bigger nodes, and the collector paused',
                              ['"""', '# Fewer, bigger nodes', 'def linear', 'def softmax',
                               'def rmsnorm', 'def gpt', 'def document_loss', "if __name__"]),
}


def source(rung):
    return (ROOT / rung).read_text(encoding='utf-8')


def places(lines):
    """{place name: the indexes of its lines} for a rung's lines (see IDEAS)."""
    found, top = {}, [i for i, line in enumerate(lines) if line and not line[0].isspace()]
    end = {i: (top[k + 1] if k + 1 < len(top) else len(lines)) for k, i in enumerate(top)}
    closing = next(i for i, line in enumerate(lines) if i > 0 and line.rstrip().endswith('"""')) \
        if lines[0].startswith('"""') and not lines[0].rstrip().endswith('"""', 3) else 0
    found['"""'] = set(range(closing + 1))
    sections = [i for i in top
                if re.match(r'# [A-Z][^:]*:', lines[i]) or lines[i].startswith('if __name__')]
    for k, i in enumerate(sections):
        if lines[i].startswith('#'):
            last = sections[k + 1] if k + 1 < len(sections) else len(lines)
            found[lines[i].split(':')[0]] = set(range(i, last))
    for i in top:
        words = lines[i].split()
        if words[0] in ('def', 'class'):
            found[f"{words[0]} {re.split(r'[(:]', words[1])[0]}"] = set(range(i, end[i]))
        elif lines[i].startswith('if __name__'):
            found['if __name__'] = set(range(i, end[i]))
        elif re.match(r'[\w, ]+ = ', lines[i]):
            first, last = i, i
            while first > 0 and lines[first - 1].strip():
                first -= 1
            while last + 1 < len(lines) and lines[last + 1].strip():
                last += 1
            for name in lines[i].split(' = ')[0].split(', '):
                found.setdefault(f'{name} =', set()).update(range(first, last + 1))
    return found


def changed_outside(lower, upper):
    """The lines that differ between two rungs outside the places of the upper rung's idea, as
    (file, line number, text)."""
    old, new = source(lower).split('\n'), source(upper).split('\n')
    wanted = IDEAS[upper][1]
    allowed_old = set().union(*[lines for name, lines in places(old).items() if name in wanted])
    allowed_new = set().union(*[lines for name, lines in places(new).items() if name in wanted])
    outside = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new,
                                                       autojunk=False).get_opcodes():
        if tag != 'equal':
            outside += [(lower, i + 1, old[i]) for i in range(i1, i2) if i not in allowed_old]
            outside += [(upper, j + 1, new[j]) for j in range(j1, j2) if j not in allowed_new]
    return outside


def lesson_diff(lower, upper):
    """The diff a learner gets from `diff -u lower upper`, but the dates diff prints after the
    names."""
    return list(difflib.unified_diff(source(lower).split('\n'), source(upper).split('\n'), lower,
                                     upper, lineterm=''))


PAIRS = list(zip(RUNGS, RUNGS[1:]))


@pytest.mark.reference
@pytest.mark.parametrize('lower, upper', PAIRS,
                         ids=[f'{Path(a).stem} to {Path(b).stem}' for a, b in PAIRS])
def test_a_rung_differs_from_the_one_below_only_where_its_idea_lives(lower, upper):
    outside = changed_outside(lower, upper)
    size = lines_changed(source(lower), source(upper))  # as the lessons' ladder table counts them
    NOTES.append(f'the ladder: {Path(upper).name} changes {size} lines of {Path(lower).name} '
                 f'({IDEAS[upper][0]})')
    assert not outside, (f'{upper} differs from {lower} outside where its idea ({IDEAS[upper][0]}) '
                         f'lives, {", ".join(IDEAS[upper][1])}:\n' +
                         '\n'.join(f'  {f}:{n}: {text}' for f, n, text in outside[:10]))


@pytest.mark.reference
def test_the_ladder_table_counts_the_lines_each_rung_changes():
    table = (ROOT / 'progression' / 'README.md').read_text(encoding='utf-8')
    counted = dict(re.findall(r'^\| (\S+\.py) \| [^|]+ \| (\d+) \|', table, flags=re.M))
    assert counted == {rung: str(lines_changed(source(lower), source(rung)))
                       for lower, rung in PAIRS}


@pytest.mark.reference
@pytest.mark.parametrize('rung', [r for r in RUNGS if r != 'microgpt.py'])
def test_a_rung_opens_by_saying_what_it_adds_and_what_it_still_lacks(rung):
    docstring = ast.get_docstring(ast.parse(source(rung)))
    lines = docstring.split('\n')
    assert (2 <= len(lines) <= 3 and 'It adds' in docstring
            and 'It still lacks' in docstring), docstring


@pytest.mark.reference
def test_the_lessons_show_each_rung_as_its_real_diff():
    lessons = (ROOT / 'progression' / 'README.md').read_text(encoding='utf-8')
    shown = {}
    for block in re.findall(r'^```diff\n(.*?)^```', lessons, flags=re.M | re.S):
        lines = block.rstrip('\n').split('\n')
        if lines[0].startswith('--- ') and lines[1].startswith('+++ '):
            shown[(lines[0][4:], lines[1][4:])] = lines
    for lower, upper in PAIRS + [('microgpt.py', 'progression/by_hand.py')]:
        assert (lower, upper) in shown, (f'progression/README.md does not show '
                                         f'`diff -u {lower} {upper}`')
        assert shown[(lower, upper)] == lesson_diff(lower, upper), \
            (f'progression/README.md shows another diff of {lower} and {upper} than the files '
             f'give now')


@pytest.mark.parametrize('rung', RUNGS)
def test_a_rung_is_self_contained_and_needs_only_the_standard_library(rung):
    from test_script import is_standard_library
    tree = ast.parse(source(rung))
    names = {alias.name.split('.')[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module.split('.')[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom)}
    assert all(is_standard_library(name) for name in names), names
    assert not names & ({'microgpt', 'faster'} | {f'train{i}' for i in range(6)}), names


# test_script.py runs it
@pytest.mark.parametrize('rung', [r for r in RUNGS if r != 'microgpt.py'])
def test_a_rung_runs_and_prints_in_the_format_of_microgpt(rung):
    # one step, as a notebook cell
    lines = [line for line in re.split('[\r\n]', short_cell(rung)) if line]
    assert ([line.split(':')[0] for line in lines[:3]]
            == ['num docs', 'vocab size', 'num params']), lines
    # the same data, the same tokens
    assert lines[:2] == ['num docs: 32033', 'vocab size: 27'], lines
    rest = lines[3:]
    if rung == 'progression/train1.py':  # the gradient check, before training
        assert re.fullmatch(r'gradient check: largest difference \d\.\de-\d\d', rest[0]), rest[0]
        assert float(rest[0].split()[-1]) < 1e-6, rest[0]
        rest = rest[1:]
    assert re.fullmatch(r'step    1 /    1 \| loss \d\.\d{4}', rest[0]), rest
    assert rest[1] == '--- inference (new, hallucinated names) ---'
    assert [line[:11] for line in rest[2:]] == [f'sample {k:2d}: ' for k in range(1, 21)], rest


@pytest.mark.parametrize('rung', [r for r in RUNGS
                                  if r not in ('progression/train0.py', 'microgpt.py')])
def test_a_rung_s_gradients_match_finite_differences(rung):
    # train1's are worked out by hand, the others' by backward() (test_check.py checks
    # microgpt.py's): the largest and a zero gradient of each matrix at the first weights; then,
    # at weights drawn afresh, all the weights of each matrix at once, along a random direction
    mg = load(path=ROOT / rung)
    doc = next(doc for doc in mg.docs if len(doc) == 3)
    model = Model(mg, lambda: mg.document_loss(doc))
    check_weights(model, picks=0)
    fresh_weights(model)
    check_directions(model)


WRONG_DERIVATIVES = {  # a slip in train1's chain rule: what it changes, the matrix the check names
    'relu passes every gradient back': ('d_h = [d * (hi > 0) for d, hi in zip(d_r, h)]',
                                        'd_h = d_r', 'mlp_fc1'),
    "softmax's slope without the 1 at the target": ('(p - (i == target_id)) / n', 'p / n',
                                                    'lm_head'),
    'the gradient of x not passed on to the embedding': ('grads[\'wte\'][token_id][j] += d',
                                                         'grads[\'wte\'][token_id][j] += 0', 'wte'),
}


@pytest.mark.parametrize('slip', WRONG_DERIVATIVES)
def test_a_wrong_derivative_planted_in_train1_fails_by_name(slip, tmp_path):
    old, new, name = WRONG_DERIVATIVES[slip]
    text = source('progression/train1.py')
    assert text.count(old) == 1, old
    planted = tmp_path / 'train1.py'
    planted.write_text(text.replace(old, new), encoding='utf-8')
    mg = load(path=planted)
    doc = next(doc for doc in mg.docs if len(doc) == 3)
    with pytest.raises(Failed) as failure:
        check_weights(Model(mg, lambda: mg.document_loss(doc)), picks=2)
    assert wrong_matrices(failure.value) and name in wrong_matrices(failure.value), failure.value


def value_rungs():
    """(rung, operation) for every operation of every rung that has a Value, read without running
    it."""
    found = []
    for rung in RUNGS:
        tree = ast.parse(source(rung))
        classes = [node for node in tree.body
                   if isinstance(node, ast.ClassDef) and node.name == 'Value']
        if classes:
            found += [(rung, f'Value.{node.name}') for node in classes[0].body
                      if isinstance(node, ast.FunctionDef)
                      and node.name not in checks.NOT_OPERATIONS]
            found += [(rung, node.name) for node in tree.body
                      if isinstance(node, ast.FunctionDef) and node.name not in checks.THE_MODEL]
    return found


LOADED = {}


@pytest.mark.parametrize('rung, name', value_rungs())
def test_a_rung_s_operations_against_finite_differences(rung, name):
    if rung not in LOADED:
        LOADED[rung] = load(path=ROOT / rung)
    checks.check_operation(LOADED[rung], name)


def step_lines(rung, steps):
    mg = load(path=ROOT / rung, num_steps=steps)
    out, _ = run_main(mg, cwd=ROOT, sample=False)
    return [line for line in lines_of(out) if line.startswith('step')]


@pytest.mark.reference
def test_train2_prints_the_losses_of_train1_the_same_math_done_by_the_machine():
    by_hand = step_lines('progression/train1.py', 12)
    by_autograd = step_lines('progression/train2.py', 12)
    assert len(by_hand) == 12 and by_hand == by_autograd


# what goes wrong: (input.txt, an edit, the settings it needs, words the error must hold, what it
# must not have printed: a setting that would train a wrong model stops before the first step; a
# temperature that cannot sample, before the first sample)
BAD_INPUT = {
    'an empty input.txt': ('', {}, [], ['input.txt holds no documents'], b'step'),
    'temperature 0': ('emma\n', {'temperature': 0, 'num_steps': 1}, ['temperature'],
                      ['temperature (0)'], b'sample'),
    'n_embd not a multiple of n_head': ('emma\n', {'n_embd': 18}, ['n_embd', 'n_head'],
                                        ['n_embd (18)', 'n_head (4)'], b'step'),
}


# test_script.py: microgpt.py
@pytest.mark.parametrize('rung', [r for r in RUNGS if r != 'microgpt.py'])
@pytest.mark.parametrize('case', BAD_INPUT)
def test_bad_input_stops_a_rung_as_it_stops_microgpt(rung, case, tmp_path):
    text, settings, needed, words, not_printed = BAD_INPUT[case]
    if any(not re.search(rf'^\s*{name} = ', source(rung), flags=re.M) for name in needed):
        pytest.skip(f'{rung} has no {" or ".join(needed)} setting')
    (tmp_path / 'input.txt').write_text(text, encoding='utf-8')
    (tmp_path / 'rung.py').write_text(edit(source(rung), **settings), encoding='utf-8')
    result = subprocess.run([sys.executable, 'rung.py'], cwd=tmp_path, capture_output=True,
                            timeout=60)
    err = result.stderr.decode('utf-8', 'replace')
    assert result.returncode != 0 and all(word in err for word in words), err
    assert not_printed not in result.stdout


@pytest.mark.parametrize('rung', RUNGS)
def test_with_no_input_and_no_network_a_rung_names_input_txt_and_writes_nothing(rung, tmp_path):
    from test_script import closed_port
    (tmp_path / 'rung.py').write_text(source(rung), encoding='utf-8')
    proxy = f'http://127.0.0.1:{closed_port()}'
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith('_PROXY')}
    env.update(https_proxy=proxy, HTTPS_PROXY=proxy)
    result = subprocess.run([sys.executable, 'rung.py'], cwd=tmp_path, env=env, capture_output=True,
                            timeout=60)
    err = result.stderr.decode('utf-8', 'replace')
    assert result.returncode != 0 and 'input.txt' in err and 'urlopen error' in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ['rung.py']
