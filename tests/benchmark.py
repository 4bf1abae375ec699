"""Time full runs of microgpt: wall time, peak memory and the output, for one file or several side
by side.

A script, not a test (pytest does not collect it). Run it from the repository root with the
interpreter you want to measure; each run is that interpreter running `python FILE` in a fresh
directory that holds a copy of input.txt, exactly as a learner runs it:

    python3 tests/benchmark.py                                  # one full run of ./microgpt.py
    python3 tests/benchmark.py --runs 3 microgpt.py old.py      # alternating: microgpt, old,
                                                                  microgpt, ...
    pypy3 tests/benchmark.py 200 n_embd=32                      # PyPy; 200 steps,
                                                                  a hyperparameter edited
    python3 tests/benchmark.py microgpt.py microgpt.py@paused progression/faster.py@collecting
                                  # the collector pause's lesson: a file as it is, with CPython's
                                  # cycle collector paused for the whole run (@paused), or left on
                                  # whatever the file does (@collecting)

Files are run in turn (run 1 of each, then run 2 of each, ...) so that a machine that gets slower or
faster over time affects them alike. Peak memory is the child's maximum resident set size, from the
operating system (Linux and macOS; Windows gives times only). Every run's output is compared with
the first file's first run.
"""
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from edits import edited, parse


# How a file runs with the collector paused for the whole run, or left on: the same file, started
# by a line of Python that does that first (PyPy frees memory only through its collector: there,
# @paused leaves it on, as faster.py does)
COLLECTOR = {
    'paused': "import gc, runpy, sys\nif sys.implementation.name == 'cpython': gc.disable()\n"
              "runpy.run_path('microgpt.py', run_name='__main__')",
    'collecting': "import gc, runpy\ngc.disable = lambda: None  # the file's own pause: a no-op\n"
                  "runpy.run_path('microgpt.py', run_name='__main__')",
}


def run(source, collector=None):
    """One run of `python microgpt.py` in a fresh directory (with the collector paused or left on,
    if asked): (seconds, peak MB or None, stdout bytes)."""
    directory = tempfile.mkdtemp(prefix='microgpt-bench-')
    try:
        with open(os.path.join(directory, 'microgpt.py'), 'w', encoding='utf-8') as f:
            f.write(source)
        shutil.copy('input.txt', directory)
        with open(os.path.join(directory, 'out.txt'), 'wb') as out:
            start = time.perf_counter()
            command = ['-c', COLLECTOR[collector]] if collector else ['microgpt.py']
            child = subprocess.Popen([sys.executable] + command, cwd=directory, stdout=out)
            if hasattr(os, 'wait4'):  # Unix: the child's peak memory comes with its exit status
                _, status, usage = os.wait4(child.pid, 0)
                child.returncode = status  # wait4 reaped it already
                # ru_maxrss: bytes on macOS, KiB on Linux
                scale = 1 if sys.platform == 'darwin' else 1024
                peak_mb = usage.ru_maxrss * scale / 1e6
            else:
                status, peak_mb = child.wait(), None
            seconds = time.perf_counter() - start
        if status != 0:
            sys.exit(f'benchmark: the run failed (status {status})')
        with open(os.path.join(directory, 'out.txt'), 'rb') as f:
            return seconds, peak_mb, f.read()
    finally:
        shutil.rmtree(directory)


def main():
    args, runs = sys.argv[1:], 1
    if '--runs' in args:
        at = args.index('--runs')
        runs = int(args[at + 1])
        del args[at:at + 2]
    edits, files = parse('benchmark', args)
    files = files or ['microgpt.py']
    for path in files:
        if '@' in path and path.split('@', 1)[1] not in COLLECTOR:
            sys.exit(f'benchmark: {path}: after @, write {" or ".join(COLLECTOR)}')
    sources = [edited('benchmark', path.split('@')[0], edits) for path in files]
    results = {path: [] for path in files}
    reference = None
    print(f"python {sys.version.split()[0]} ({sys.implementation.name}) on {platform.machine()}, "
          f"{os.cpu_count()} cores; {runs} run(s) of each, alternating"
          + (f"; edits: {' '.join(f'{k}={v}' for k, v in edits.items())}" if edits else ''))
    for r in range(runs):
        for path, source in zip(files, sources):
            seconds, peak_mb, output = run(source, (path.split('@') + [None])[1])
            reference = output if reference is None else reference
            same = 'same output' if output == reference else 'OUTPUT DIFFERS from the first run'
            digest = hashlib.sha256(output).hexdigest()[:12]
            memory = f'{peak_mb:6.0f} MB' if peak_mb is not None else '     - MB'
            print(f"run {r + 1}  {path:28s} {seconds:7.1f} s  {memory}  {same} ({digest})",
                  flush=True)
            results[path].append((seconds, peak_mb))
    print()
    first_best = min(seconds for seconds, _ in results[files[0]])
    for path in files:
        times = [seconds for seconds, _ in results[path]]
        peaks = [mb for _, mb in results[path] if mb is not None]
        peak = f', peak {max(peaks):4.0f} MB' if peaks else ''
        ratio = f', {min(times) / first_best:.2f} x the first file' if len(files) > 1 else ''
        print(f"{path:28s} best {min(times):7.1f} s, mean {sum(times) / len(times):7.1f} s"
              f"{peak}{ratio}")


if __name__ == '__main__':
    main()
