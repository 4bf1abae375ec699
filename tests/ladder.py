"""The ladder, measured: every rung of progression/ and microgpt.py, run in full and measured as
tests/experiment.py measures microgpt.py. A script, not a test. From the repository root:

    python3 tests/ladder.py                          # one seed, the files' own (42)
    pypy3 tests/ladder.py --seeds 42,1,2,3,4         # five seeds: the ladder in the lessons

It prints a table, a row per rung, under the uniform guess: the lines changed from the rung below
(counted as Python's difflib counts them); the loss on the 500 names experiment.py holds out, for
the first seed (the files' own 42 without --seeds) and, with --seeds, the mean ± the sample standard
deviation over the seeds; e to the first seed's loss, the "effective choices" (as unsure as a fair
pick among that many of the 27 tokens); the seconds of a full run of the file as it is (`python
rung.py` in a fresh directory, as tests/benchmark.py times it); the first seed's first samples. With
--seeds, a second table gives each seed's held-out loss, so that two rungs can be compared seed by
seed (the same seed holds out the same names on every rung), and the mean loss of the first 50
steps. A seed changes the shuffle too: each seed holds out its own 500 names (tests/experiment.py
says more).

How long: every rung runs once for its seconds, then once per seed (experiment.py). Five seeds
(--seeds 42,1,2,3,4) took 14 minutes with PyPy and 86 with CPython 3.11, the two side by side on
the 2-core machine the lessons were measured on; it prints the minutes it took at the end. The
losses and samples are the same on every Python, so PyPy measures them fastest; the seconds are this
machine's.
"""
import difflib
import math
import os
import platform
import re
import subprocess
import sys
import time

from benchmark import run

RUNGS = [f'progression/train{i}.py' for i in range(5)] + ['microgpt.py', 'progression/faster.py']
IDEAS = ['bigram counts', 'an MLP, gradients by hand, SGD', 'autograd',
         'attention, rmsnorm, residuals', 'heads and layers', 'Adam', 'fewer, bigger nodes']


def lines_changed(below, text):
    return sum(line[:1] in '+-' and not line.startswith(('+++', '---'))
               for line in difflib.unified_diff(below.split('\n'), text.split('\n'), lineterm=''))


def main():
    args, seeds = sys.argv[1:], None
    if args and args[0].startswith('--seeds'):
        seeds = args[0].split('=', 1)[1] if '=' in args[0] else (args[1:2] or [''])[0]
        args = args[1 if '=' in args[0] else 2:]
        if not re.fullmatch(r'\d+(,\d+)*', seeds):
            sys.exit('ladder: --seeds takes seeds separated by commas, like 42,1,2,3,4')
    if args:
        sys.exit(f'ladder: unknown argument {args[0]!r}; the only option is --seeds 42,1,2,3,4')
    if not os.path.exists('input.txt'):
        sys.exit('ladder: run it from the directory that holds input.txt (the repository root)')
    print(f"python {sys.version.split()[0]} ({sys.implementation.name}) on {platform.machine()}, "
          f"{os.cpu_count()} cores" + (f"; seeds {seeds}" if seeds else ''), flush=True)
    n = len(seeds.split(',')) if seeds else 1
    spread_column = f' | held-out loss, mean ± sd of {n} seeds' if seeds else ''
    print(f'| rung | its idea | lines changed | held-out loss{spread_column} | effective choices '
          f'| seconds | its first samples |')
    print('|---' * (7 + bool(seeds)) + '|')
    print(f'| uniform guess | | | {math.log(27):.3f}{" | " if seeds else ""} | 27.0 | | |')
    below, by_seed, start = None, [], time.perf_counter()
    for rung, idea in zip(RUNGS, IDEAS):
        text = open(rung, encoding='utf-8').read()
        changed = '' if below is None else lines_changed(below, text)
        below = text
        seconds, _, _ = run(text)
        measured = subprocess.run([sys.executable, 'tests/experiment.py', rung]
                                  + (['--seeds', seeds] if seeds else []),
                                  capture_output=True, check=True).stdout.decode('utf-8')
        held_out = float(re.search(r'held-out loss, \d+ names.*?:\s+([\d.]+)', measured).group(1))
        samples = re.search(r'first five samples:\s+(.*)', measured).group(1).split(', ')[:3]
        spread = ''
        if seeds:
            # experiment.py's own row of means (rounded once, from the unrounded losses)
            means = re.search(r'^mean ± sd \|([^|]*)\|([^|]*)\|([^|]*)\|', measured, re.M)
            spread = f' | {means.group(2).strip()}'
            rows = re.findall(r'^ *(\d+) \| +[\d.]+ \| +([\d.]+) \| +([\d.]+) \|', measured, re.M)
            first = [float(x) for x in means.group(3).split('±')]
            by_seed.append((rung, [float(loss) for _, loss, _ in rows],
                            [float(x) for _, _, x in rows], first))
        print(f"| {rung} | {idea} | {changed} | {held_out:.3f}{spread} | "
              f"{math.exp(held_out):.1f} | {seconds:.1f} | {', '.join(samples)} |", flush=True)
    if seeds:
        print(f"\n| rung | held-out loss, seed {seeds.replace(',', ', ')} | mean loss of the "
              f"first 50 steps, seed {seeds.split(',')[0]} (mean ± sd) |")
        print('|---|---|---|')
        for rung, losses, firsts, (mean, sd) in by_seed:
            print(f"| {rung} | {', '.join(f'{x:.3f}' for x in losses)} | "
                  f"{firsts[0]:.2f} ({float(mean):.2f} ± {float(sd):.2f}) |")
    print(f"\nthe whole ladder took {(time.perf_counter() - start) / 60:.1f} minutes")


if __name__ == '__main__':
    main()
