"""A learner's edit, checked as a learner checks it: `python -m pytest -m "not reference"` on a copy.

Two edits a course assigns, applied to a copy of microgpt.py together: GELU in the MLP, built on a new
Value operation `tanh`, and a low-rank (LoRA-style) branch added to the queries, two new matrices. The
copy must pass the command; the same copy with a planted gradient bug (a wrong local derivative in tanh;
the branch's input cut off from the graph) must fail it, naming what is wrong. The runs are nested
pytest runs of this suite, with MICROGPT naming the copy; they leave out this file and the checks of
other interpreters (MICROGPT_NESTED=1), which test the suite and the machine, not the model.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import CHECK_EDITED, ROOT, SCRIPT

if os.environ.get('MICROGPT_NESTED') == '1':
    pytest.skip('a nested run does not run itself again', allow_module_level=True)

TANH = ("    def tanh(self):\n"
        "        t = math.tanh(self.data)\n"
        "        return Value(t, (self,), (1 - t ** 2,))\n")
GELU = ("linear(x, state_dict[f'layer{li}.mlp_fc1'])\n"
        "        x = [0.5 * xi * (1 + (0.7978845608 * (xi + 0.044715 * xi ** 3)).tanh()) for xi in x]")
LORA_MATRICES = ("    state_dict[f'layer{i}.attn_wq_a'] = matrix(2, n_embd)  # low rank: 2\n"
                 "    state_dict[f'layer{i}.attn_wq_b'] = matrix(n_embd, 2)\n")
LORA_QUERY = ("q = linear(x, state_dict[f'layer{li}.attn_wq'])\n"
              "        lora_a, lora_b = state_dict[f'layer{li}.attn_wq_a'], state_dict[f'layer{li}.attn_wq_b']\n"
              "        q = [qi + di for qi, di in zip(q, linear(linear(XIN, lora_a), lora_b))]")


def replace_once(source, old, new):
    assert source.count(old) == 1, f'microgpt.py no longer has this line: {old!r}'
    return source.replace(old, new)


def edited(tanh=TANH, lora_input='x'):
    source = SCRIPT.read_text(encoding='utf-8')
    source = replace_once(source, "    def __neg__(self)", tanh + "    def __neg__(self)")  # after relu
    source = replace_once(source, "[xi.relu() for xi in linear(x, state_dict[f'layer{li}.mlp_fc1'])]", GELU)
    source = replace_once(source, "    state_dict[f'layer{i}.mlp_fc1']",
                          LORA_MATRICES + "    state_dict[f'layer{i}.mlp_fc1']")
    source = replace_once(source, "q = linear(x, state_dict[f'layer{li}.attn_wq'])",
                          LORA_QUERY.replace('XIN', lora_input))
    return source


EDITS = {  # name: (what edited() changes, whether the check must pass, words its output must hold)
    'GELU on a new tanh, and a LoRA branch on the queries': ({}, True, []),
    'planted bug: a wrong local derivative in tanh': (
        {'tanh': TANH.replace('1 - t ** 2', '1 - t')}, False, ['Value.tanh']),
    'planted bug: the LoRA branch reads a copy of x, cut off from the graph': (
        {'lora_input': '[Value(xi.data) for xi in x]'}, False, ['backward() gives']),
}
# These tests edit the shipped lines of gpt() and Value: once a learner has changed those lines, they
# cannot apply, which is expected. Hence `reference`, and the edits are made only when they run.
pytestmark = pytest.mark.reference


RUNS = {}  # the nested runs, started as soon as the tests are collected (see conftest.py)


def start_in_background():
    directory = Path(tempfile.mkdtemp(prefix='microgpt-edits-'))
    for number, (name, (changes, should_pass, _)) in enumerate(EDITS.items()):
        try:
            source = edited(**changes)
        except AssertionError as error:  # the learner's file no longer has a line these edits change
            RUNS[name] = error
            continue
        copy = directory / f'edit{number}' / 'microgpt.py'
        copy.parent.mkdir()
        copy.write_text(source, encoding='utf-8')
        env = dict(os.environ, MICROGPT=str(copy), MICROGPT_NESTED='1')
        command = [sys.executable, '-m', 'pytest', '-m', 'not reference', '-q', '-p', 'no:cacheprovider']
        RUNS[name] = subprocess.Popen(command + ([] if should_pass else ['-x']), cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.parametrize('name', EDITS)
def test_the_check_for_edited_models_tells_a_right_edit_from_a_wrong_one(name):
    _, should_pass, words = EDITS[name]
    if isinstance(RUNS[name], AssertionError):
        raise RUNS[name]
    output = RUNS[name].communicate(timeout=300)[0].decode('utf-8', 'replace')
    returncode = RUNS[name].returncode
    summary = output.strip().splitlines()[-1]
    if should_pass:
        assert returncode == 0, f'{CHECK_EDITED} fails on a correct edit:\n{output}'
        assert 'passed' in summary and 'failed' not in summary
    else:
        assert returncode == 1, f'{CHECK_EDITED} does not catch the bug:\n{output}'
        for word in words:
            assert word in output, output
