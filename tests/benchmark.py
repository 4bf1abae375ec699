"""Time full runs of microgpt: wall time, peak memory and the output, for one file or several side by side.

A script, not a test (pytest does not collect it). Run it from the repository root with the interpreter
you want to measure; each run is that interpreter running `python FILE` in a fresh directory that holds
a copy of input.txt, exactly as a learner runs it:

    python3 tests/benchmark.py                                  # one full run of ./microgpt.py
    python3 tests/benchmark.py --runs 3 microgpt.py old.py      # alternating: microgpt, old, microgpt, ...
    pypy3 tests/benchmark.py 200 n_embd=32                      # PyPy; 200 steps, a hyperparameter edited

Files are run in turn (run 1 of each, then run 2 of each, ...) so that a machine that gets slower or
faster over time affects them alike. Peak memory is the child's maximum resident set size, from the
operating system (Linux and macOS). Every run's output is compared with the first file's first run.
"""
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

runs, files, edits = 1, [], {}
args = sys.argv[1:]
while args:
    arg = args.pop(0)
    if arg == '--runs':
        runs = int(args.pop(0))
    elif arg.isdigit():
        edits['num_steps'] = arg
    elif '=' in arg:
        name, value = arg.split('=', 1)
        edits[name] = value
    else:
        files.append(arg)
files = files or ['microgpt.py']
if not os.path.exists('input.txt'):
    sys.exit('benchmark: run it from the directory that holds input.txt (the repository root)')


def prepared(path):
    source = open(path, encoding='utf-8').read()
    for name, value in edits.items():
        source, found = re.subn(rf'^{name} = .*$', f'{name} = {value}', source, count=1, flags=re.M)
        if not found:
            sys.exit(f'benchmark: {path} has no top-level `{name} = ...` line')
    return source


def run(source):
    """One run of `python microgpt.py` in a fresh directory: (seconds, peak MB, stdout bytes)."""
    directory = tempfile.mkdtemp(prefix='microgpt-bench-')
    try:
        with open(os.path.join(directory, 'microgpt.py'), 'w', encoding='utf-8') as f:
            f.write(source)
        shutil.copy('input.txt', directory)
        with open(os.path.join(directory, 'out.txt'), 'wb') as out:
            start = time.perf_counter()
            child = subprocess.Popen([sys.executable, 'microgpt.py'], cwd=directory, stdout=out)
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - start
        child.returncode = status  # wait4 reaped it already
        if status != 0:
            sys.exit(f'benchmark: the run failed (status {status})')
        scale = 1 if sys.platform == 'darwin' else 1024  # ru_maxrss: bytes on macOS, KiB on Linux
        with open(os.path.join(directory, 'out.txt'), 'rb') as f:
            return seconds, usage.ru_maxrss * scale / 1e6, f.read()
    finally:
        shutil.rmtree(directory)


sources = [prepared(path) for path in files]
results = {path: [] for path in files}
reference = None
print(f"python {sys.version.split()[0]} ({sys.implementation.name}) on {platform.machine()}, "
      f"{os.cpu_count()} cores; {runs} run(s) of each, alternating"
      + (f"; edits: {' '.join(f'{k}={v}' for k, v in edits.items())}" if edits else ''))
for r in range(runs):
    for path, source in zip(files, sources):
        seconds, peak_mb, output = run(source)
        reference = output if reference is None else reference
        same = 'same output' if output == reference else 'OUTPUT DIFFERS from the first run'
        digest = hashlib.sha256(output).hexdigest()[:12]
        print(f"run {r + 1}  {path:28s} {seconds:7.1f} s  {peak_mb:6.0f} MB  {same} ({digest})", flush=True)
        results[path].append((seconds, peak_mb))
print()
first_best = min(seconds for seconds, _ in results[files[0]])
for path in files:
    times = [seconds for seconds, _ in results[path]]
    peak = max(mb for _, mb in results[path])
    ratio = f', {min(times) / first_best:.2f} x the first file' if len(files) > 1 else ''
    print(f"{path:28s} best {min(times):7.1f} s, mean {sum(times) / len(times):7.1f} s, "
          f"peak {peak:4.0f} MB{ratio}")
