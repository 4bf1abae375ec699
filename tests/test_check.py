"""The check (tests/check.py, tests/checks.py), checked: every named check passes the shipped
microgpt.py, and check.py, run end to end as a course runs it on a folder of copies, passes correct
work however it is written or saved and fails each classic mistake by name, with the words the
README's table shows.

The folder holds: the six homework solutions in one copy, saved as Notepad and Windows save it (a
byte-order mark, CRLF line endings); a copy that does correct work in unusual ways (extra prints, a
float gradient, an assert added above the others, .grad cleared before backward(), __file__, a
helper of four arguments, a helper that draws random numbers, a write to input.txt); each classic
mistake of tests/solutions.py; a copy that looks for its data elsewhere and tries the network;
progression/faster.py and progression/by_hand.py; and a student's own test file and conftest.py,
which must never run. check.py checks them in the background, two at a time, while the rest of the
suite runs.
"""
import csv
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import checks
from conftest import ROOT, SCRIPT, lines_of

try:
    from solutions import (BY_HAND_MISTAKES, BY_HAND_SOLUTIONS, HOMEWORK, MISTAKES, ROTARY,
                           apply)
    ALL_MISTAKES = dict(MISTAKES, **BY_HAND_MISTAKES)
except ImportError:  # a student's handout, without the solutions
    HOMEWORK = MISTAKES = ROTARY = apply = None
    ALL_MISTAKES = {}

FOLDER = Path(tempfile.mkdtemp(prefix='microgpt-check-'))
SHIPPED = SCRIPT.read_text(encoding='utf-8')

# Correct work in unusual ways: each is an edit to a copy of microgpt.py (see solutions.apply)
UNUSUAL = [
    ('print(f"num params: {len(params)}")', '''{line}
print(f"trainable weights: {sum(1 for p in params)}")  # an extra print at import'''),
    ('self.grad = 0 ', '        self.grad = 0.0  # a float gradient'),
    ('assert n_embd % n_head == 0', '''assert n_layer >= 1, "n_layer: 1 or more"  # a new assert
{line}'''),
    ('docs = [line.strip() for line in open(',
     "here = os.path.dirname(os.path.abspath(__file__))  # __file__: input.txt beside the file\n"
     "docs = [line.strip() for line in open(os.path.join(here, 'input.txt'), encoding='utf-8') "
     "if line.strip()]"),
    ('random.shuffle(docs)', '''{line}
with open('input.txt', 'a', encoding='utf-8') as f:  # a copy that writes to input.txt
    f.write('zzzz\\n')'''),
    ('def gpt(token_id, pos_id, keys, values)', '''def attend(q_h, k_h, v_h, scale):  # 4 arguments
    weights = softmax([sum(a * b for a, b in zip(q_h, k_t)) * scale for k_t in k_h])
    return [sum(w * v_t[j] for w, v_t in zip(weights, v_h)) for j in range(len(q_h))]

def random_name(length):  # a helper that draws random numbers
    return ''.join(random.choice(uchars) for _ in range(length))

{line}'''),
    ('attn_weights = softmax(attn_logits)', ''),
    ('attn_logits = [sum(a * b', ''),
    ('head_out = [sum(w * v_t[j]',
     '            head_out = attend(q_h, k_h, v_h, head_dim ** -0.5)'),
    ('for j in range(head_dim)]', ''),
    ('loss.backward()', '''        for p in params:
            p.grad = 0  # cleared after the forward pass, before backward()
{line}'''),
    ('p.grad = 0  # backward() adds into .grad', ''),
    ('print(f"step {step + 1:4d}',
     '        print(f"step {step + 1} of {num_steps}: loss {loss.data:.4f}, lr {lr_t:.5f}")'),
    ('print(f"sample {sample_idx + 1:2d}', '''{line}
    print(f"that was {len(params)} weights")  # an extra print after the samples'''),
]
NETWORK = [("if not os.path.exists('input.txt'):", "if not os.path.exists('names.txt'):"),
           ("urllib.request.urlretrieve(names_url, 'input.txt.part')",
            "    urllib.request.urlretrieve(names_url, 'names.txt')"),
           ("os.replace('input.txt.part', 'input.txt')", ''),
           ("open('input.txt', encoding='utf-8')",
            "docs = [line.strip() for line in open('names.txt', encoding='utf-8') "
            "if line.strip()]")]
STUDENT_TEST = 'def test_mine():\n    assert False, "a student\'s test: never run it"\n'
STUDENT_CONFTEST = 'raise SystemExit("a student\'s conftest.py: the check must not run it")\n'
RUN = {}


def windows_bytes(text):
    """A file as Notepad (or PowerShell 5.1's Out-File -Encoding utf8) saves it on Windows."""
    return b'\xef\xbb\xbf' + text.replace('\n', '\r\n').encode('utf-8')


def start_in_background():
    """Write the folder of copies and start check.py on it (conftest.py calls this once the tests
    are collected)."""
    input_before = (ROOT / 'input.txt').read_bytes()
    copies = {'unusual.py': apply(SHIPPED, UNUSUAL) if apply else None,
              'network.py': apply(SHIPPED, NETWORK) if apply else None,
              'faster.py': (ROOT / 'progression' / 'faster.py').read_text(encoding='utf-8')}
    if (ROOT / 'progression' / 'by_hand.py').exists():
        copies['by_hand.py'] = (ROOT / 'progression' / 'by_hand.py').read_text(encoding='utf-8')
    for path, text in copies.items():
        if text is not None:
            (FOLDER / path).write_text(text, encoding='utf-8')
    if HOMEWORK:
        homework = apply(SHIPPED, HOMEWORK)
        (FOLDER / 'all_six.py').write_bytes(windows_bytes(homework))
        by_hand = (ROOT / 'progression' / 'by_hand.py').read_text(encoding='utf-8')
        by_hand_gelu = apply(by_hand, BY_HAND_SOLUTIONS['by_hand_gelu'])
        (FOLDER / 'by_hand_gelu.py').write_text(by_hand_gelu, encoding='utf-8')
        for k, (name, (edits, _, _)) in enumerate(ALL_MISTAKES.items(), 1):
            base = by_hand_gelu if name in BY_HAND_MISTAKES else homework
            (FOLDER / f'mistake{k}.py').write_text(apply(base, edits), encoding='utf-8')
    (FOLDER / 'student').mkdir()
    (FOLDER / 'student' / 'test_mine.py').write_text(STUDENT_TEST, encoding='utf-8')
    (FOLDER / 'student' / 'conftest.py').write_text(STUDENT_CONFTEST, encoding='utf-8')
    RUN['input before'] = input_before
    RUN['process'] = subprocess.Popen(
        [sys.executable, str(ROOT / 'tests' / 'check.py'), str(FOLDER), '--jobs', '2',
         '--csv', str(FOLDER / 'grades.csv')],
        cwd=FOLDER, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def report():
    """check.py's output on the folder: {file name: its line and the lines under it}, the
    summary, its exit status, and the CSV rows."""
    if 'out' not in RUN:
        out, err = RUN['process'].communicate(timeout=600)
        RUN['out'], RUN['err'] = out.decode('utf-8'), err.decode('utf-8')
        with open(FOLDER / 'grades.csv', newline='', encoding='utf-8') as f:
            RUN['rows'] = {Path(row['copy']).name: row for row in csv.DictReader(f)}
    lines, text = {}, RUN['out'].split('\n\n')[0]
    for entry in re.split(r'\n(?=\S)', text):
        name = Path(entry.split(': ', 1)[0]).name
        lines[name] = entry
    return lines, RUN['out'], RUN['process'].returncode, RUN['rows']


needs_solutions = pytest.mark.skipif(HOMEWORK is None,
                                     reason="tests/solutions.py is not here (a student's handout): "
                                            'the homework and mistakes are not checked')


# --- Every named check, on the shipped file ---

@pytest.fixture(scope='module')
def scratch(tmp_path_factory):
    """A folder like the one check.py gives a copy: input.txt, and room for the checks' own."""
    folder = tmp_path_factory.mktemp('check')
    shutil.copy(ROOT / 'input.txt', folder)
    return folder


@pytest.mark.parametrize('name', [name for name, _, _ in checks.CHECKS])
def test_every_check_passes_the_shipped_file(name, scratch, monkeypatch):
    monkeypatch.chdir(scratch)
    function = next(f for n, _, f in checks.CHECKS if n == name)
    assert function(checks.Copy(SCRIPT)) == []  # passed, with no warning


def test_the_readme_lists_every_check_with_what_it_proves():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    listed = readme.split('**What the check proves.**', 1)[1].split('\n\n', 2)[1]
    bullets = re.findall(r'^- `([^`]+)`: (.*?)\.$(?=\n- |\Z)', listed, flags=re.M | re.S)
    assert [(name, ' '.join(proves.split())) for name, proves in bullets] == \
        [(name, proves) for name, proves, _ in checks.CHECKS]


@needs_solutions
def test_a_matrix_left_in_params_that_the_model_never_reads_is_named(scratch, monkeypatch):
    # rotary positions, with wpe still in state_dict: not a mistake of the gradient, but wpe trains
    # nothing; unlike a router chosen by argmax, which the model reads (tests/solutions.py)
    monkeypatch.chdir(scratch)
    kept = [edit for edit in ROTARY if "'wpe'" not in edit[0] and 'pos_emb' not in edit[0]]
    kept.append(('x = [t + p for t, p in zip(tok_emb, pos_emb)]', '    x = tok_emb'))
    path = scratch / 'rotary_with_wpe.py'
    path.write_text(apply(SHIPPED, kept), encoding='utf-8')
    warning = ('wpe is in params, but the model never reads it (moving it changes no loss): '
               'leave it out of state_dict')
    assert checks.check_every_matrix_trained(checks.Copy(path)) == [warning]
    # and no other check takes the unread wpe for a mistake: the copy passes, with that warning
    results = checks.run_checks(path)
    assert [r['result'] for r in results] == ['passed'] * len(checks.CHECKS), results
    assert warning in [note for r in results for note in r['notes']]


# --- check.py end to end, on a folder of copies ---

def test_correct_work_passes_however_it_is_written():
    lines, out, _, _ = report()
    for name in ['unusual.py', 'faster.py'] + (['by_hand.py'] if 'by_hand.py' in lines else []):
        assert ': passed (' in lines[name], out


@needs_solutions
def test_the_six_solutions_saved_on_windows_pass():
    lines, out, _, _ = report()
    assert ': passed (14 checks)' in lines['all_six.py'], out
    # rotate(x, pos_id) wants a whole vector: it is named as not checked, not failed
    assert 'rotate: called with Values, numbers and lists of Values' in lines['all_six.py']


@needs_solutions
def test_gelu_by_hand_passes():
    lines, out, _, _ = report()
    assert ': passed (9 checks)' in lines['by_hand_gelu.py'], out


@needs_solutions
@pytest.mark.parametrize('k, name', list(enumerate(ALL_MISTAKES, 1)))
def test_each_classic_mistake_fails_by_name(k, name):
    lines, out, _, _ = report()
    _, check, words = ALL_MISTAKES[name]
    line = lines[f'mistake{k}.py']
    assert f': FAILED {check}: ' in line, line
    for word in words:
        assert word in line, f'{name}: {word!r} not in:\n{line}'


@needs_solutions
def test_the_readme_table_shows_what_the_check_prints():
    lines, _, _, _ = report()
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    table = readme.split('| homework ', 1)[1].split('\n\n', 1)[0].split('\n')[2:]
    shown = [re.findall(r'`([^`]*)`', row.rsplit(' | ', 1)[1]) for row in table]
    shown = [cells[0] for cells in shown if cells]
    printed = [lines[f'mistake{k}.py'].split(': ', 1)[1].split('\n')[0]
               for k in range(1, len(ALL_MISTAKES) + 1)]
    assert len(shown) == len(printed), shown
    for pattern, line in zip(shown, printed):
        regex = '.*?'.join(re.escape(part) for part in pattern.split('...'))
        assert re.fullmatch(regex, line), \
            f'the README shows\n  {pattern}\nthe check prints\n  {line}'


@needs_solutions
def test_a_copy_that_tries_the_network_fails_saying_so():
    lines, _, _, _ = report()
    assert ': FAILED loads: the copy tried the network' in lines['network.py'], lines['network.py']


def test_a_student_s_own_tests_never_run_and_nothing_reaches_the_repository():
    lines, out, _, _ = report()
    assert 'test_mine.py: not a copy' in out and 'conftest.py: not a copy' in out, out
    assert 'never run it' not in out + RUN['err'] and 'must not run' not in out + RUN['err']
    assert (ROOT / 'input.txt').read_bytes() == RUN['input before']  # unusual.py writes to its own
    assert not (FOLDER / 'input.txt').exists()


def test_the_summary_the_exit_status_and_the_gradebook():
    lines, out, status, rows = report()
    failed = [name for name, row in rows.items() if row['result'] == 'failed']
    assert status == (1 if failed else 0)
    assert f'{len(rows)} copies: {len(rows) - len(failed)} passed, {len(failed)} failed' in out
    assert sorted(failed) == sorted(name for name in lines if 'FAILED' in lines[name])
    for name, row in rows.items():
        assert row['checks passed'].isdigit() and float(row['seconds']) > 0


# --- Windows ---

def test_a_run_read_as_windows_writes_it():
    # the last step line ends in \r; Windows' text mode writes every \n as \r\n: \r\r\n
    ran = ('num docs: 3\nvocab size: 5\nnum params: 4\nstep    1 /    2 | loss 1.6000\r'
           'step    2 /    2 | loss 1.5000\r\n--- inference (new, hallucinated names) ---\n'
           'sample  1: ab\n')
    as_windows_writes = ran.replace('\n', '\r\n').encode('utf-8')
    assert lines_of(as_windows_writes) == lines_of(ran.encode('utf-8')) == [
        'num docs: 3', 'vocab size: 5', 'num params: 4', 'step    1 /    2 | loss 1.6000',
        'step    2 /    2 | loss 1.5000', '--- inference (new, hallucinated names) ---',
        'sample  1: ab']


def test_a_copy_with_a_byte_order_mark_and_crlf_reads_as_python_reads_it(tmp_path):
    (tmp_path / 'copy.py').write_bytes(windows_bytes(SHIPPED))
    copy = checks.Copy(tmp_path / 'copy.py')
    assert copy.text == SHIPPED
    ran = subprocess.run([sys.executable, '-c', 'import ast, sys; '
                          'ast.parse(open(sys.argv[1], "rb").read()); print("parsed")',
                          str(tmp_path / 'copy.py')], capture_output=True)
    assert ran.stdout.strip() == b'parsed'
