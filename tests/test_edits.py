"""Edits to microgpt.py, checked as a learner checks them: `python -m pytest -m "not reference"` on a
copy (MICROGPT names the copy). These runs are nested pytest runs of this suite; they leave out this
file and the checks of other interpreters (MICROGPT_NESTED=1), which test the suite and the machine.

- Homework a course assigns, all in one copy: GELU (on a new `tanh`), LoRA on the queries (B starts
  at 0, the base weights frozen: left out of params), rotary embeddings on the queries and keys (wpe
  removed), a top-2 mixture of experts in place of the MLP, momentum SGD in place of Adam, and a
  `clamp(lo, hi)` operation. The check must pass.
- The classic mistakes, each planted in that copy alone: the check must fail, naming what is wrong.
- The README's "Make it faster" edits, each applied to the shipped file: the run must print the same
  bytes; and all of them together must pass the check.
"""
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import CHECK_EDITED, ROOT, SCRIPT, edit

if os.environ.get('MICROGPT_NESTED') == '1':
    pytest.skip('a nested run does not run itself again', allow_module_level=True)
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


TANH = '''    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1 - t ** 2,))
{line}'''
CLAMP = '''    def clamp(self, lo, hi):  # held between lo and hi: flat outside, so the slope is 0 there
        return Value(min(max(self.data, lo), hi), (self,), (float(lo < self.data < hi),))
{line}'''
LORA = [
    ("state_dict[f'layer{i}.{name}'] = matrix(n_embd, n_embd)", '''{line}
    state_dict[f'layer{i}.attn_wq_a'] = matrix(2, n_embd)  # LoRA on the queries: rank 2
    state_dict[f'layer{i}.attn_wq_b'] = matrix(n_embd, 2, std=0)  # B = 0: no change at first'''),
    ('params = [p for mat in state_dict.values() for row in mat for p in row]',
     "params = [p for name, mat in state_dict.items() if not name.endswith('attn_wq') "
     "for row in mat for p in row]  # the base weights stay frozen"),
    ("q = linear(x, state_dict[f'layer{li}.attn_wq'])", '''{line}
        a, b = state_dict[f'layer{li}.attn_wq_a'], state_dict[f'layer{li}.attn_wq_b']
        q = [qi + di for qi, di in zip(q, linear(linear(x, a), b))]'''),
]
ROTARY = [
    ("'wpe': matrix(block_size, n_embd),", "state_dict = {'wte': matrix(vocab_size, n_embd),"),
    ("pos_emb = state_dict['wpe'][pos_id]", ''),
    ('x = [t + p for t, p in zip(tok_emb, pos_emb)]', '    x = tok_emb'),
    ('keys[li].append(k)', '''        q, k = rotate(q, pos_id), rotate(k, pos_id)  # where a token is: an angle, not wpe
{line}'''),
    ('def gpt(token_id, pos_id, keys, values):', '''def rotate(x, pos_id):  # turn each pair of a head's dimensions by an angle that grows with pos_id
    out = []
    for h in range(n_head):
        for i in range(0, head_dim, 2):
            angle = pos_id * 10000 ** (-i / head_dim)
            a, b = x[h * head_dim + i], x[h * head_dim + i + 1]
            out += [a * math.cos(angle) - b * math.sin(angle), a * math.sin(angle) + b * math.cos(angle)]
    return out

{line}'''),
]
EXPERTS = '''        scores = linear(x, state_dict[f'layer{li}.router'])
        chosen = sorted(range(4), key=lambda e: scores[e].data, reverse=True)[:2]  # the top 2
        gates = softmax([scores[e] for e in chosen])  # how much of each: the router learns here
        out = [0] * n_embd
        for gate, e in zip(gates, chosen):
            h = linear(x, state_dict[f'layer{li}.expert{e}.fc1'])
            h = [0.5 * hi * (1 + (0.7978845608 * (hi + 0.044715 * hi ** 3)).tanh()) for hi in h]
            y = linear(h, state_dict[f'layer{li}.expert{e}.fc2'])
            out = [o + gate * yi for o, yi in zip(out, y)]
        x = out'''
MIXTURE = [
    ("state_dict[f'layer{i}.mlp_fc1']", '''    state_dict[f'layer{i}.router'] = matrix(4, n_embd)  # a score for each of 4 experts
    for e in range(4):  # each expert a small MLP: n_embd wide inside, not 4 * n_embd
        state_dict[f'layer{i}.expert{e}.fc1'] = matrix(n_embd, n_embd)
        state_dict[f'layer{i}.expert{e}.fc2'] = matrix(n_embd, n_embd)'''),
    ("state_dict[f'layer{i}.mlp_fc2']", ''),
    ("linear(x, state_dict[f'layer{li}.mlp_fc1'])", EXPERTS),
    ("linear(x, state_dict[f'layer{li}.mlp_fc2'])", ''),
]
MOMENTUM = [
    ('m[i] = beta1 * m[i]', '            m[i] = 0.9 * m[i] + p.grad  # momentum SGD: a decaying sum of gradients'),
    ('v[i] = beta2 * v[i]', ''), ('m_hat = m[i]', ''), ('v_hat = v[i]', ''),
    ('p.data -= lr_t * m_hat', '            p.data -= lr_t * m[i]'),
]
HOMEWORK = [('def __neg__(self)', TANH), ('def __neg__(self)', CLAMP)] + LORA + ROTARY + MIXTURE + MOMENTUM

MISTAKES = {  # name: (what changes in the homework copy, words the check's output must hold)
    "a wrong local derivative (tanh's as 1 - t)": ([('return Value(t, (self,), (1 - t ** 2,))',
                                                     '        return Value(t, (self,), (1 - t,))')],
                                                   ['Value.tanh(Value(', 'backward() gives']),
    'a wrong local derivative (clamp with slope 1 everywhere)': (
        [('float(lo < self.data < hi)', '        return Value(min(max(self.data, lo), hi), (self,), (1,))')],
        ['Value.clamp(Value(', 'backward() gives']),
    'a local derivative list shorter than the inputs': (
        [('def __neg__(self)', '''    def maximum(self, other):
        return Value(max(self.data, other.data), (self, other), (float(self.data > other.data),))
{line}''')], ['Value.maximum(', 'there must be one for each input']),
    'a branch fed a detached input (LoRA reads a copy of x)': (
        [('linear(linear(x, a), b)', '        q = [qi + di for qi, di in zip(q, linear(linear([Value(xi.data) '
                                     'for xi in x], a), b))]')], ['backward() gives']),
    'a router chosen by argmax (no gate: no gradient ever reaches it)': (
        [('chosen = sorted(range(4)', '        chosen = [max(range(4), key=lambda e: scores[e].data)]'),
         ('gates = softmax(', '        gates = [1]')], ['layer0.router', 'never trained']),
    'an optimizer that does not clear .grad': ([('p.grad = 0', '')], ['still hold a gradient']),
    "micrograd's backward(): a nested build_topo that calls itself": (
        [('topo = []', '''        topo, visited = [], set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build_topo(child)
                topo.append(v)'''), ('self.build_topo(topo, set())', '        build_topo(self)')],
        ['memory grows every step']),
}


def speed_edits():
    """The README's "Make it faster" edits: each ```diff block right after a **title** line, as (title,
    old text, new text): lines starting with ' ' or '-' are the old text; with ' ' or '+', the new."""
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    section = (readme.split('\n## Make it faster', 1) + [''])[1].split('\n## ', 1)[0]
    found = []
    for title, body in re.findall(r'^\*\*([^\n]+?)\*\*[^\n]*\n\n```diff\n(.*?)^```', section, flags=re.M | re.S):
        lines = body.rstrip('\n').split('\n')
        old = '\n'.join(line[1:] for line in lines if line[:1] in ' -')
        new = '\n'.join(line[1:] for line in lines if line[:1] in ' +')
        found.append((title, old, new))
    return found


def apply_diff(source, old, new):
    assert source.count(old) == 1, f'{SCRIPT.name} does not hold this text once:\n{old}'
    return source.replace(old, new)


RUNS = {}  # name: a running process (or the error that kept it from starting)
DIRECTORY = Path(tempfile.mkdtemp(prefix='microgpt-edits-'))
SHORT = dict(num_steps=2, block_size=8)  # the runs compared byte for byte: 2 steps, then 20 samples


def start(name, make_source, command):
    try:
        source = make_source()
    except AssertionError as error:  # the file no longer has a line an edit changes
        RUNS[name] = error
        return
    copy = DIRECTORY / f'copy{len(RUNS)}' / 'microgpt.py'
    copy.parent.mkdir()
    copy.write_text(source, encoding='utf-8')
    env = dict(os.environ, MICROGPT=str(copy), MICROGPT_NESTED='1')
    if command == 'run':  # the script itself, as a learner runs it, for a few steps
        (copy.parent / 'input.txt').write_bytes((ROOT / 'input.txt').read_bytes())
        RUNS[name] = subprocess.Popen([sys.executable, 'microgpt.py'], cwd=copy.parent,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    else:
        check = [sys.executable, '-m', 'pytest', '-m', 'not reference', '-q', '-p', 'no:cacheprovider']
        RUNS[name] = subprocess.Popen(check + (['-x'] if command == 'check, to its first failure' else []),
                                      cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def start_in_background():
    shipped = SCRIPT.read_text(encoding='utf-8')
    homework = lambda: apply(shipped, HOMEWORK)
    start('homework', homework, 'check')
    for name, (changes, _) in MISTAKES.items():
        start(name, lambda changes=changes: apply(homework(), changes), 'check, to its first failure')
    short = lambda source: edit(source, **SHORT)
    start('shipped, run', lambda: short(shipped), 'run')
    edits = speed_edits()
    for title, old, new in edits:
        start(f'{title}, run', lambda old=old, new=new: short(apply_diff(shipped, old, new)), 'run')
    def all_speed_edits():
        source = shipped
        for _, old, new in edits:
            source = apply_diff(source, old, new)
        return source
    start('every speed edit', all_speed_edits, 'check')


def output(name):
    if isinstance(RUNS[name], AssertionError):
        raise RUNS[name]
    out = RUNS[name].communicate(timeout=300)[0].decode('utf-8', 'replace')
    return RUNS[name].returncode, out


def test_the_check_passes_the_homework_of_a_course():
    returncode, out = output('homework')
    assert returncode == 0, f'{CHECK_EDITED} fails on correct homework:\n{out}'
    summary = out.strip().splitlines()[-1]
    assert 'passed' in summary and 'failed' not in summary and 'error' not in summary, summary


@pytest.mark.parametrize('name', MISTAKES)
def test_the_check_names_a_classic_mistake(name):
    returncode, out = output(name)
    assert returncode == 1, f'{CHECK_EDITED} does not catch {name}:\n{out}'
    for words in MISTAKES[name][1]:
        assert words in out, f'the failure does not say {words!r}:\n{out}'


def test_the_readme_shows_speed_edits():
    assert len(speed_edits()) >= 4


@pytest.mark.parametrize('title', [title for title, _, _ in speed_edits()])
def test_a_speed_edit_prints_the_same_bytes(title):
    shipped_code, shipped = output('shipped, run')
    code, edited = output(f'{title}, run')
    assert shipped_code == 0 and code == 0, edited
    assert edited == shipped, f'"{title}" changes what the run prints:\n{edited}\nnot\n{shipped}'


def test_every_speed_edit_together_passes_the_check():
    returncode, out = output('every speed edit')
    assert returncode == 0, f'{CHECK_EDITED} fails with the speed edits:\n{out}'
