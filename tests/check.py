"""Check learners' copies of microgpt.py (or of a rung, or of progression/by_hand.py): a line per
copy, then a summary. A script, not a test; standard library only, so any Python 3.8 or later runs
it, with no virtual environment:

    python3 tests/check.py my_microgpt.py                 # one copy (Windows: py tests\\check.py)
    python3 tests/check.py submissions/                   # every copy in a folder, or below it
    python3 tests/check.py submissions/ --csv grades.csv  # and a row per copy, for a gradebook
    python3 tests/check.py submissions/ --jobs 2          # copies checked side by side (default:
                                                          # as many as the machine has cores)

A copy is a .py file that defines document_loss (read without running it); other .py files in a
folder (a student's own tests, a conftest.py) are listed as not copies, and never run. Each copy
runs in a scratch folder of its own, with its own input.txt (the names) and no network, in a
process of its own, and gets the named checks of tests/checks.py: its operations, its gradients,
its training, its sampling. Its line says how many checks passed (those that ran), names any that
did not apply and why, and any warning; or the first failed check, in its own words. A copy with
no result in --timeout seconds (default 300) fails. The exit status is 1 if any copy failed.
The check runs each copy's code with your permissions: run it in a throwaway account or container.
"""
import ast
import concurrent.futures
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
import json

HERE = os.path.dirname(os.path.abspath(__file__))
INPUT = os.path.join(os.path.dirname(HERE), 'input.txt')
CHECKS = os.path.join(HERE, 'checks.py')


def is_copy(path):
    """A copy defines document_loss at its top level. Read, not run."""
    try:
        with open(path, 'rb') as f:
            tree = ast.parse(f.read())
    except (SyntaxError, ValueError, OSError):
        return True  # a copy that does not parse is a copy that fails, saying why
    return any(isinstance(node, ast.FunctionDef) and node.name == 'document_loss'
               for node in tree.body)


def find(args):
    """(copies, other .py files found in folders) from the command line's paths."""
    copies, others = [], []
    for arg in args:
        if os.path.isdir(arg):
            for folder, subfolders, files in os.walk(arg):
                subfolders[:] = sorted(d for d in subfolders
                                       if d not in ('.venv', '__pycache__', '.git'))
                for name in sorted(files):
                    if name.endswith('.py'):
                        path = os.path.join(folder, name)
                        (copies if is_copy(path) else others).append(path)
        else:
            copies.append(arg)
    return copies, others


def check_one(path, timeout):
    """Run tests/checks.py on one copy in a scratch folder of its own: its list of results, or a
    one-entry list that says why there is none."""
    scratch = tempfile.mkdtemp(prefix='microgpt-check-')
    start = time.perf_counter()
    try:
        if not os.path.isfile(path):
            return [{'check': 'loads', 'result': 'failed', 'words': 'no such file'}], 0.0
        copy = os.path.join(scratch, os.path.basename(path))
        shutil.copyfile(path, copy)
        shutil.copyfile(INPUT, os.path.join(scratch, 'input.txt'))
        results_file = os.path.join(scratch, 'results.json')
        env = {k: v for k, v in os.environ.items() if not k.upper().endswith('_PROXY')}
        env.update(PYTHONIOENCODING='utf-8', PYTHONDONTWRITEBYTECODE='1')
        try:
            run = subprocess.run([sys.executable, CHECKS, copy, results_file], cwd=scratch,
                                 env=env, capture_output=True, timeout=timeout,
                                 stdin=subprocess.DEVNULL)  # a copy that asks for input fails
        except subprocess.TimeoutExpired:
            return [{'check': 'loads', 'result': 'failed',
                     'words': f'no result in {timeout} seconds (a loop that never ends?)'}], timeout
        seconds = time.perf_counter() - start
        if not os.path.exists(results_file):
            err = run.stderr.decode('utf-8', 'replace').strip().splitlines()
            words = err[-1] if err else f'the check stopped (exit status {run.returncode})'
            return [{'check': 'loads', 'result': 'failed', 'words': words}], seconds
        with open(results_file, encoding='utf-8') as f:
            return json.load(f), seconds
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def line(path, results):
    """A copy's line: passed (N checks) and what did not apply, or its first failure."""
    failed = [r for r in results if r['result'] == 'failed']
    passed = [r for r in results if r['result'] == 'passed']
    skipped = [r for r in results if r['result'] == 'not checked']
    notes = [f"{r['check']}: {note}" for r in results for note in r.get('notes', [])]
    notes += [f"{r['check']}: not checked: {r['words']}" for r in skipped]
    if failed:
        words = failed[0]['words'].replace('\n', '\n        ')
        return f"{path}: FAILED {failed[0]['check']}: {words}"
    return (f'{path}: passed ({len(passed)} checks)'
            + ''.join(f'\n    {note}' for note in notes))


def main():
    args, jobs, csv_path, timeout = sys.argv[1:], os.cpu_count() or 1, None, 300
    for option in ('--jobs', '--csv', '--timeout'):
        if option in args:
            at = args.index(option)
            if at + 1 >= len(args):
                sys.exit(f'check: {option} needs a value')
            value = args[at + 1]
            del args[at:at + 2]
            if option == '--jobs':
                jobs = int(value)
            elif option == '--timeout':
                timeout = int(value)
            else:
                csv_path = value
    if not args or any(a.startswith('--') for a in args):
        sys.exit(__doc__)
    copies, others = find(args)
    if not copies:
        sys.exit(f'check: no copies (.py files that define document_loss) in {" ".join(args)}')
    for other in others:
        print(f'{other}: not a copy (it defines no document_loss): not run')
    rows, failed_by = [], {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(check_one, path, timeout) for path in copies]
        for path, future in zip(copies, futures):  # in order, each as soon as it is ready
            results, seconds = future.result()
            print(line(path, results), flush=True)
            failed = [r for r in results if r['result'] == 'failed']
            if failed:
                failed_by.setdefault(failed[0]['check'], []).append(path)
            rows.append({'copy': path, 'result': 'failed' if failed else 'passed',
                         'failed check': failed[0]['check'] if failed else '',
                         'words': failed[0]['words'] if failed else '',
                         'checks passed': sum(r['result'] == 'passed' for r in results),
                         'not checked': '; '.join(f"{r['check']}: {r['words']}" for r in results
                                                  if r['result'] == 'not checked'),
                         'warnings': '; '.join(f"{r['check']}: {n}" for r in results
                                               for n in r.get('notes', [])),
                         'seconds': round(seconds, 1)})
    passed = sum(row['result'] == 'passed' for row in rows)
    print(f'\n{len(rows)} {"copy" if len(rows) == 1 else "copies"}: {passed} passed, '
          f'{len(rows) - passed} failed'
          + ''.join(f'\n  failed {check}: {len(paths)}' for check, paths in failed_by.items())
          + (f'\n  not copies, not run: {len(others)}' if others else ''))
    if csv_path:
        with open(csv_path, 'w', newline='', encoding='utf-8') as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    sys.exit(1 if len(rows) - passed else 0)


if __name__ == '__main__':
    main()
