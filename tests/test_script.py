"""The script run as people run it: `python microgpt.py`, pasted into a notebook, on bad input and
odd machines; and faster.py's collector pause, given back after an interrupt."""
import ast
import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import ROOT, SCRIPT, SPEC_LOSSES, lines_of, run_script

NAMES_URL = 'https://raw.githubusercontent.com/karpathy/makemore/988aa59/names.txt'


def write(directory, text):
    (Path(directory) / 'input.txt').write_text(text, encoding='utf-8')


def output_lines(result):
    return lines_of(result.stdout)


def assert_error(result, *words):
    """A non-zero exit, and an error that names the file or the setting and the problem: Python's
    own traceback does (its last line is the problem; the line of microgpt.py it shows
    names the file)."""
    err = result.stderr.decode('utf-8', 'replace')
    assert result.returncode != 0, err
    for word in words:
        assert word in err, err
    return err



def test_import_builds_everything_but_trains_nothing(tmp_path):
    shutil.copy(ROOT / 'input.txt', tmp_path)
    (tmp_path / 'microgpt.py').write_bytes(SCRIPT.read_bytes())
    # a trained step prints its line; a backward() without an update leaves gradients behind
    code = ('import microgpt; '
            'print(callable(microgpt.document_loss), callable(microgpt.gpt), '
            'hasattr(microgpt, "loss")); '
            'print(any(p.grad != 0 for p in getattr(microgpt, "params", [])))')
    result = subprocess.run([sys.executable, '-c', code], cwd=tmp_path, capture_output=True,
                            timeout=60)
    lines = result.stdout.decode().splitlines()
    assert ([line.split(':')[0] for line in lines[:3]]
            == ['num docs', 'vocab size', 'num params']), lines
    assert lines[3:] == ['True True False', 'False'], lines  # built, and nothing trained


def test_a_short_run_prints_steps_then_twenty_samples(tmp_path):
    shutil.copy(ROOT / 'input.txt', tmp_path)
    result = run_script(tmp_path, num_steps=3, block_size=3)
    lines = [line for line in output_lines(result)
             if not line.startswith('gradient check:')]  # train1's
    assert result.returncode == 0, result.stderr
    assert [line.split(':')[0] for line in lines[:3]] == ['num docs', 'vocab size', 'num params']
    assert all(re.fullmatch(rf'step    {i} /    3 \| loss \d\.\d{{4}}', lines[2 + i])
               for i in range(1, 4))
    assert lines[6] == '--- inference (new, hallucinated names) ---'
    assert [line[:11] for line in lines[7:]] == [f'sample {k:2d}: ' for k in range(1, 21)]
    assert b'\r' in result.stdout  # step lines update in place in a terminal


@pytest.mark.reference
def test_a_run_prints_the_reference_figures(tmp_path):
    shutil.copy(ROOT / 'input.txt', tmp_path)
    lines = output_lines(run_script(tmp_path, num_steps=2))
    assert lines[:3] == ['num docs: 32033', 'vocab size: 27', 'num params: 4192']
    # with 2 steps the learning rate decays faster than with 1000:
    # only the first loss is the reference's
    assert lines[3] == f'step    1 /    2 | loss {SPEC_LOSSES[0]}'


def test_pasted_into_a_notebook_cell(tmp_path):
    # a notebook runs the cell as __main__, with no __file__ and the kernel's own
    # arguments in sys.argv
    shutil.copy(ROOT / 'input.txt', tmp_path)
    wrapper = ("import sys; sys.argv = ['ipykernel_launcher.py', '-f', '/tmp/kernel-1234.json']\n"
               "cell = open('microgpt.py', encoding='utf-8').read()\n"
               "namespace = {'__name__': '__main__'}\n"
               "exec(compile(cell, '<cell>', 'exec'), namespace)\n"
               "print('gc enabled after the cell:', __import__('gc').isenabled())\n")
    result = run_script(tmp_path, wrapper=wrapper, num_steps=1, block_size=4)
    lines = output_lines(result)
    assert result.returncode == 0, result.stderr
    assert 'sample 20: ' in '\n'.join(lines) and lines[-1] == 'gc enabled after the cell: True'


def test_faster_py_stopped_mid_training_in_a_notebook_gives_its_collector_back(tmp_path):
    # faster.py pauses the cycle collector while it trains. Ctrl-C (Jupyter's "interrupt") while it
    # trains: the collector must not stay paused for the rest of the session. The thread notes
    # what it interrupted, so the test can't pass vacuously.
    shutil.copy(ROOT / 'input.txt', tmp_path)
    # Ctrl-C's handler is put back first: a shell's background job (`&`, nohup) ignores Ctrl-C,
    # and then interrupt_main() would do nothing
    wrapper = ("import _thread, gc, signal, sys, threading, time\n"
               "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
               "seen = {}\n"
               "def interrupt():\n"
               "    while 'step ' not in sys.stdout.getvalue(): time.sleep(0.01)\n"
               "    seen['collector paused'] = not gc.isenabled()\n"
               "    _thread.interrupt_main()\n"
               "import io; real, sys.stdout = sys.stdout, io.StringIO()\n"
               "threading.Thread(target=interrupt, daemon=True).start()\n"
               "cell = open('microgpt.py', encoding='utf-8').read()\n"
               "try: exec(compile(cell, '<cell>', 'exec'), {'__name__': '__main__'})\n"
               "except KeyboardInterrupt: seen['interrupted'] = True\n"
               "sys.stdout = real\n"
               "print(seen, 'collector on after the cell:', gc.isenabled())\n")
    result = run_script(tmp_path, wrapper=wrapper, path=ROOT / 'progression' / 'faster.py')
    assert result.returncode == 0, result.stderr
    paused = sys.implementation.name == 'cpython'  # faster.py pauses CPython's collector only
    expected = (f"{{'collector paused': {paused}, 'interrupted': True}} "
                f"collector on after the cell: True")
    assert output_lines(result)[-1] == expected


def closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]  # nothing listens here once the socket is closed


def test_no_input_and_no_network_is_an_error_that_names_it(tmp_path):
    # every connection refused: a machine with no network
    proxy = f'http://127.0.0.1:{closed_port()}'
    result = run_script(tmp_path, env={'https_proxy': proxy, 'HTTPS_PROXY': proxy})
    err = assert_error(result, 'input.txt', 'urlopen error')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['microgpt.py'], err


SERVER = '''
import http.server, threading, urllib.request
BODY = open('names-to-serve.txt', 'rb').read()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header('Content-Length', str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY[:CUT])  # CUT < len(BODY): the connection drops half way
        self.wfile.flush()
        self.close_connection = True
    def log_message(self, *args): pass
server = http.server.HTTPServer(('127.0.0.1', 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
real_urlopen = urllib.request.urlopen
def urlopen(url, *args, **kwargs):  # the pinned URL, answered by this local server instead
    assert url == NAMES_URL, url
    return real_urlopen(f'http://127.0.0.1:{server.server_port}/names.txt', *args, **kwargs)
urllib.request.urlopen = urlopen
if FILE_LIMIT:  # a full disk that stops root too: writing past the limit fails (EFBIG)
    import resource, signal
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
source = open('microgpt.py', encoding='utf-8').read()
exec(compile(source, 'microgpt.py', 'exec'), {'__name__': '__main__'})
'''


def serve_and_run(tmp_path, cut=None, file_limit=0):
    body = (ROOT / 'input.txt').read_bytes()
    (tmp_path / 'names-to-serve.txt').write_bytes(body)
    wrapper = (f'NAMES_URL = {NAMES_URL!r}\nCUT = {cut if cut is not None else len(body)}\n'
               f'FILE_LIMIT = {file_limit}\n' + SERVER)
    return run_script(tmp_path, wrapper=wrapper, env={'no_proxy': '*'}, num_steps=1,
                      block_size=4), body


def test_a_download_cut_off_half_way_leaves_no_input_txt_and_the_next_run_starts_over(tmp_path):
    result, body = serve_and_run(tmp_path, cut=100_000)
    assert_error(result, 'input.txt', 'retrieval incomplete: got only 100000 out of 228145 bytes')
    assert not (tmp_path / 'input.txt').exists()  # what arrived stays in input.txt.part
    result, body = serve_and_run(tmp_path)  # the next run downloads it all again
    assert result.returncode == 0, result.stderr
    assert ((tmp_path / 'input.txt').read_bytes() == body
            and not (tmp_path / 'input.txt.part').exists())


def test_a_whole_download_is_saved_as_input_txt_and_trains(tmp_path):
    result, body = serve_and_run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert ((tmp_path / 'input.txt').read_bytes() == body
            and not (tmp_path / 'input.txt.part').exists())
    assert output_lines(result)[0] == 'num docs: 32033' and 'sample 20: ' in result.stdout.decode()


@pytest.mark.skipif(sys.platform == 'win32',
                    reason='needs Unix: a file-size limit (the resource module) '
                           'plays the full disk')
def test_a_download_that_fills_the_disk_leaves_no_input_txt(tmp_path):
    result, _ = serve_and_run(tmp_path, file_limit=50_000)  # the disk fills after 50 kB of 228 kB
    assert_error(result, 'input.txt', 'File too large')
    assert not (tmp_path / 'input.txt').exists()


def test_a_download_that_cannot_be_saved_names_the_file(tmp_path):
    (tmp_path / 'input.txt.part').mkdir()  # stands in for a read-only directory
    result, _ = serve_and_run(tmp_path)
    assert_error(result, "'input.txt.part'")
    assert not (tmp_path / 'input.txt').exists()


def test_an_input_txt_that_is_a_directory_is_an_error_that_names_it(tmp_path):
    (tmp_path / 'input.txt').mkdir()
    assert_error(run_script(tmp_path), "'input.txt'")


@pytest.mark.skipif(not Path('/proc/self/mem').exists(),
                    reason='needs Linux: /proc/self/mem plays a failing disk')
def test_an_input_txt_that_fails_to_read_is_an_error_that_names_it(tmp_path):
    # reading /proc/self/mem from its start fails with EIO (a disk's read error), also for root
    (tmp_path / 'input.txt').symlink_to('/proc/self/mem')
    assert_error(run_script(tmp_path), "'input.txt'", 'Input/output error')


@pytest.mark.skipif(not hasattr(os, 'geteuid') or os.geteuid() == 0,
                    reason='needs Unix and a user other than root (root reads any file)')
def test_an_input_txt_without_read_permission_is_an_error_that_names_it(tmp_path):
    write(tmp_path, 'emma\n')
    (tmp_path / 'input.txt').chmod(0)
    assert_error(run_script(tmp_path), "'input.txt'", 'Permission denied')


@pytest.mark.parametrize('text', ['', '\n\n   \n\t\n'])
def test_an_input_with_no_documents_is_an_error_that_names_it(tmp_path, text):
    write(tmp_path, text)
    assert_error(run_script(tmp_path), 'input.txt holds no documents')


def test_an_input_that_is_not_utf8_is_an_error_that_names_it(tmp_path):
    (tmp_path / 'input.txt').write_bytes('zoë\nchloé\n'.encode('latin-1'))
    assert_error(run_script(tmp_path), "'input.txt'", "'utf-8' codec can't decode")


KOREAN = '민준\n서연\n하준\n지우\n도윤\n서윤\n'
LOCALES = {
    'C locale': {'LANG': 'C', 'LC_ALL': 'C'},
    'C locale, no UTF-8 mode': {'LANG': 'C', 'LC_ALL': 'C', 'PYTHONUTF8': '0',
                                'PYTHONCOERCECLOCALE': '0'},
    'Windows code page': {'PYTHONIOENCODING': 'cp1252', 'PYTHONUTF8': '0'},
}


@pytest.mark.parametrize('locale', LOCALES)
def test_any_utf8_text_trains_whatever_the_locale(tmp_path, locale):
    # input.txt is read as UTF-8 whatever the machine's locale. A terminal that cannot show the
    # samples' characters stops with Python's error, which names its encoding (the README says what
    # to set); on one that can, the run ends with 20 samples.
    write(tmp_path, KOREAN)
    result = run_script(tmp_path, env=LOCALES[locale], num_steps=2, block_size=4)
    out = result.stdout.decode('utf-8', 'replace').replace('\r', '\n')
    assert 'vocab size: 10' in out and 'step    2 /    2' in out, result.stderr
    if result.returncode != 0:
        assert_error(result, "codec can't encode character")
    else:
        assert 'sample 20: ' in out


def test_korean_samples_are_korean_on_a_utf8_terminal(tmp_path):
    write(tmp_path, KOREAN)
    result = run_script(tmp_path, env={'PYTHONIOENCODING': 'utf-8'}, num_steps=2, block_size=4)
    samples = [line.split(': ', 1)[1] for line in output_lines(result) if line.startswith('sample')]
    assert len(samples) == 20 and set(''.join(samples)) <= set(KOREAN) - {'\n'}


def test_documents_longer_than_block_size_train(tmp_path):
    write(tmp_path, 'abcdefghijklmnopqrstuvwxyz' + '\nshort\n')
    result = run_script(tmp_path, num_steps=1, block_size=4)
    assert result.returncode == 0, result.stderr
    samples = [line for line in output_lines(result) if line.startswith('sample')]
    assert len(samples) == 20 and all(len(line) - len('sample  1: ') <= 4 for line in samples)


def test_a_single_distinct_character_trains_and_samples(tmp_path):
    write(tmp_path, 'a\naa\naaa\n')
    result = run_script(tmp_path, num_steps=2, block_size=3)
    assert result.returncode == 0, result.stderr
    lines = output_lines(result)
    assert 'vocab size: 2' in lines
    assert all(set(line.split(': ', 1)[1]) <= {'a'} for line in lines if line.startswith('sample'))


@pytest.mark.parametrize('edit, words', [
    (dict(n_embd=18), ['n_embd (18)', 'n_head (4)']),
    (dict(n_head=3), ['n_embd (16)', 'n_head (3)']),
])
def test_a_setting_that_would_train_a_wrong_model_stops_at_the_start_and_names_it(tmp_path, edit,
                                                                                  words):
    write(tmp_path, 'emma\nolivia\n')
    result = run_script(tmp_path, **edit)
    assert_error(result, *words)
    assert b'step' not in result.stdout  # it stopped before the first step


@pytest.mark.parametrize('temperature', [0, -0.5])
def test_a_temperature_that_cannot_sample_stops_before_sampling_and_names_it(tmp_path,
                                                                            temperature):
    # it trains nothing wrong: it stops where sampling starts, before a division by 0 (or worse,
    # a negative temperature's draws of the least likely letters)
    write(tmp_path, 'emma\nolivia\n')
    result = run_script(tmp_path, num_steps=1, temperature=temperature)
    assert_error(result, f'temperature ({temperature})')
    assert b'sample' not in result.stdout


# --- the file's shape: what the lesson promises its readers ---

@pytest.mark.reference
def test_the_file_fits_in_200_lines():
    assert len(SCRIPT.read_text(encoding='utf-8').splitlines()) <= 200


@pytest.mark.reference
def test_no_line_is_longer_than_100_characters():
    long_lines = [i + 1 for i, line in enumerate(SCRIPT.read_text(encoding='utf-8').splitlines())
                  if len(line) > 100]
    assert not long_lines, f'lines over 100 characters: {long_lines}'


def is_standard_library(name):
    if hasattr(sys, 'stdlib_module_names'):  # Python 3.10 and later
        return name in sys.stdlib_module_names
    spec = importlib.util.find_spec(name)  # before 3.10: where does it come from?
    if spec is None:
        return False
    if spec.origin in ('built-in', 'frozen'):
        return True
    stdlib = sysconfig.get_paths()['stdlib']
    return spec.origin.startswith(stdlib) and 'site-packages' not in spec.origin


def test_microgpt_imports_only_the_standard_library():
    tree = ast.parse(SCRIPT.read_text(encoding='utf-8'))
    names = {alias.name.split('.')[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names}
    names |= {node.module.split('.')[0] for node in ast.walk(tree)
              if isinstance(node, ast.ImportFrom) and node.module}
    assert names and not [name for name in names if not is_standard_library(name)], names
