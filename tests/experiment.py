"""Did an edit help? Train microgpt.py (or a rung of the ladder) as it stands, and measure it on
names it never trained on, for one seed or several.

A script, not a test (pytest does not collect it). Run it from the repository root:

    python3 tests/experiment.py                    # the default run: 1000 steps of ./microgpt.py
    python3 tests/experiment.py 3000               # more steps (an edit of num_steps)
    python3 tests/experiment.py n_embd=32          # a setting edited, as a reader edits the file
                                                     (tests/edits.py: beta1=0.9 and std=0.02 too)
    pypy3 tests/experiment.py --seeds 42,1,2,3,4   # five runs, a seed each: is it beyond noise?
    python3 tests/experiment.py my_copy.py          # another version of the file
    python3 tests/experiment.py progression/train3.py n_layer=2   # a rung, a setting edited

It runs the file's own `if __name__ == '__main__':` block, exactly as `python microgpt.py` does
(the collector as the file leaves it), noting the loss of each training step: a step is a call of
document_loss made by the block itself (its training loop), not by a function it calls (train1's
gradient check calls it before training). Then it runs the block's sampling loop (its last `for`
statement) again, until it has 200 names. It prints:
- the mean training loss of the last 100 steps: each step's loss is measured on the step's name
  before the update, so on a name the model has not trained on yet: honest, but one name a step
  makes it noisy, and a run of another length ends on other names;
- the mean loss on held-out names: the last 500 documents after the shuffle, which no run of up to
  31,533 steps trains on; and e to that loss, the "effective choices": as unsure as a fair pick
  among that many tokens, out of vocab_size (27 for the names);
- of 200 sampled names (the first 20 are the 20 samples `python microgpt.py` prints, and the first
  five of them are shown): how many are real names, a line of input.txt, split into those the run
  trained on and those it never saw;
- seconds per training step, and the graph nodes one step's forward pass builds (the mean over the
  first 20 documents; a rung without autograd builds none);
- the mean training loss of each twentieth of the run (50 steps each in the default run): the curve.

--seeds 42,1,2,3,4 runs it once per seed, the file's `random.seed(42)` line edited to each. A seed
draws the first weights and the samples, and it shuffles the names: each seed holds out its own
500 names and trains on its own. Everything above is printed for the first seed; then a row per
seed, and over the seeds the mean ± the sample standard deviation (sd): the spread the README and
the lessons quote. A difference between two edits counts only beyond the spread, where the two
ranges mean ± sd do not overlap; within it, another seed can reverse it. Runs with the same seed
hold out the same names, so two edits can also be compared seed by seed. Each seed is a full run,
as long as `python microgpt.py`; the losses and samples are the same on every Python, so PyPy
(`pypy3`) measures them fastest.
"""
import ast
import io
import math
import os
import platform
import random
import re
import sys
import time
from contextlib import redirect_stdout

from checks import Copy, Stop, is_main_guard, value_of, working_directory
from edits import edited, parse

HELD_OUT, SAMPLES = 500, 200


def seeded(source, seed):
    """source with its `random.seed(...)` line seeding `seed` instead."""
    source, found = re.subn(r'^([ \t]*)random\.seed\([^)]*\)', rf'\g<1>random.seed({seed})',
                            source, count=1, flags=re.M)
    if not found:
        sys.exit('experiment: the file has no `random.seed(...)` line to set a seed on')
    return source


def sampling_loop(source, path):
    """The __main__ block's last `for` statement, compiled: its sampling loop."""
    loops = [stmt for node in ast.parse(source, path).body if is_main_guard(node)
             for stmt in node.body if isinstance(stmt, ast.For)]
    if not loops:
        sys.exit(f'experiment: {path} has no `for` loop in its __main__ block to sample with')
    return compile(ast.Module([loops[-1]], []), path, 'exec')


def train(mg, cwd='.', every=None, evaluate=None):
    """Run mg's __main__ block as `python file.py` does, up to its first draw of a sample token:
    the training loop and what comes before it (train1's gradient check). Returns each step's loss,
    the seconds from the first step to the end of training, and, every `every` steps (and after the
    last), evaluate() (the held-out loss, before that step's update)."""
    real, main_code, losses, started, checkpoints = mg.document_loss, mg.__main_code__, [], [], {}

    def document_loss(doc):
        if sys._getframe(1).f_code is not main_code:  # called by a function, not by a step
            return real(doc)
        if not started:
            started.append(time.perf_counter())
        if every and len(losses) % every == 0:
            checkpoints[len(losses)] = evaluate()
        if len(losses) == len(mg.docs) - HELD_OUT:
            raise SystemExit(f'experiment: more than {len(losses)} steps would train on the '
                             f'held-out names')
        loss = real(doc)
        losses.append(value_of(loss))
        return loss

    def stop(*args, **kwargs):
        raise Stop

    mg.document_loss, real_choices, random.choices = document_loss, random.choices, stop
    try:
        with working_directory(cwd), redirect_stdout(io.StringIO()):
            exec(main_code, mg.__dict__)
    except Stop:
        pass
    finally:
        mg.document_loss, random.choices = real, real_choices
    seconds = time.perf_counter() - started[0] if started else 0.0
    if len(losses) != mg.num_steps:
        sys.exit(f'experiment: {len(losses)} calls of document_loss from the training loop, for '
                 f'num_steps = {mg.num_steps}: a step must call it once')
    if every:
        checkpoints[len(losses)] = evaluate()
    return losses, seconds, checkpoints


def held_out_loss(mg):
    return sum(value_of(mg.document_loss(doc)) for doc in mg.docs[-HELD_OUT:]) / HELD_OUT


def run(path, source):
    """One run of the file (source): its figures, as a dict."""
    copy = Copy(path)
    copy.text = source
    mg = copy.load('.')
    losses, seconds, _ = train(mg)
    # the sampling loop again and again, from where training left the random numbers: the first
    # 20 names are those `python microgpt.py` prints
    loop, samples = sampling_loop(source, path), []
    while len(samples) < SAMPLES:
        out = io.StringIO()
        with redirect_stdout(out):
            exec(loop, mg.__dict__)
        printed = [line.split(': ', 1)[-1] for line in out.getvalue().split('\n') if line]
        if not printed:
            sys.exit(f'experiment: the sampling loop of {path} printed no names')
        samples += printed
    samples = samples[:SAMPLES]
    trained_on = {mg.docs[step % len(mg.docs)] for step in range(mg.num_steps)}
    real = set(mg.docs)
    made = [0]
    if hasattr(mg, 'Value'):
        plain_init = mg.Value.__init__

        def counting_init(self, *args):  # counts the nodes 20 forward passes make (not timed)
            made[0] += 1
            plain_init(self, *args)
        mg.Value.__init__ = counting_init
        for doc in mg.docs[:20]:
            mg.document_loss(doc)
        mg.Value.__init__ = plain_init
    return dict(losses=losses, seconds=seconds, samples=samples, trained_on=trained_on, real=real,
                held_out=held_out_loss(mg), nodes=made[0] / 20, num_steps=mg.num_steps,
                vocab_size=mg.vocab_size, train=sum(losses[-100:]) / len(losses[-100:]),
                first=sum(losses[:50]) / len(losses[:50]),
                real_names=sum(name in real for name in samples))


def spread(xs):
    """The mean and the sample standard deviation (0 for a single run)."""
    mean = sum(xs) / len(xs)
    sd = (sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) ** 0.5 if len(xs) > 1 else 0.0
    return mean, sd


def report(r):
    block = max(1, r['num_steps'] // 20)
    losses, samples, trained_on, real = r['losses'], r['samples'], r['trained_on'], r['real']
    curve = [sum(losses[i:i + block]) / len(losses[i:i + block])
             for i in range(0, len(losses), block)]
    seen = sum(name in trained_on for name in samples)
    unseen = sum(name in real and name not in trained_on for name in samples)
    first = samples[:20]
    print(f"train loss, mean of the last 100 steps:        {r['train']:.4f}")
    print(f"held-out loss, {HELD_OUT} names never trained on:    {r['held_out']:.4f}")
    print(f"effective choices, e to the held-out loss:     {math.exp(r['held_out']):.1f} of "
          f"{r['vocab_size']}")
    print(f"sampled names that are real names:             {seen + unseen} of {SAMPLES}: "
          f"{seen} trained on, {unseen} never seen")
    print(f"  of the 20 a run prints:                      {sum(name in real for name in first)} "
          f"real, {sum(name in trained_on for name in first)} of them trained on: "
          f"{', '.join(name for name in first if name in real)}")
    print(f"seconds per step:                              {r['seconds'] / r['num_steps']:.3f}")
    print(f"graph nodes per step (forward):                {r['nodes']:,.0f}")
    print(f"first five samples:                            {', '.join(samples[:5])}")
    print(f"mean loss of each {block} steps:  " + ' '.join(f'{x:.2f}' for x in curve))


def main():
    args, seeds = sys.argv[1:], None
    for i, arg in enumerate(args):
        if arg == '--seeds' or arg.startswith('--seeds='):
            value = arg.split('=', 1)[1] if '=' in arg else (args[i + 1] if i + 1 < len(args)
                                                                else '')
            del args[i:i + (1 if '=' in arg else 2)]
            if not re.fullmatch(r'\d+(,\d+)*', value):
                sys.exit('experiment: --seeds takes seeds separated by commas, like 42,1,2,3,4')
            seeds = [int(seed) for seed in value.split(',')]
            break
    edits, files = parse('experiment', args)
    if len(files) > 1:
        sys.exit(f'experiment: one file at a time, not {" and ".join(files)} (an edit is like '
                 f'n_embd=32, a number is num_steps)')
    path = files[0] if files else 'microgpt.py'
    if not os.path.isfile(path):
        sys.exit(f'experiment: no file {path}')
    source = edited('experiment', path, edits)
    what = ' '.join(f'{k}={v}' for k, v in edits.items())
    runs = []
    for n, seed in enumerate(seeds or [None]):
        r = run(path, source if seed is None else seeded(source, seed))
        runs.append((seed, r))
        if n == 0:
            print(f"{path}{' (' + what + ')' if what else ''}: {r['num_steps']} steps, "
                  f"python {sys.version.split()[0]} ({sys.implementation.name}) on "
                  f"{platform.machine()}" + (f', seed {seed}' if seed is not None else ''))
            report(r)
            if seeds:
                print(f"\nover {len(seeds)} seeds ({', '.join(map(str, seeds))}); each seed "
                      f"holds out its own {HELD_OUT} names:")
                print('     seed | train loss, last 100 steps | held-out loss | first 50 steps '
                      '| real names of 200 | its first samples')
        if seeds:
            print(f"{seed:9d} | {r['train']:26.4f} | {r['held_out']:13.4f} | {r['first']:14.4f} | "
                  f"{r['real_names']:17d} | {', '.join(r['samples'][:3])}", flush=True)
    if seeds:
        keys = [('train loss', 'train'), ('held-out loss', 'held_out'),
                ('first 50 steps', 'first')]
        columns = [spread([r[key] for _, r in runs]) for _, key in keys]
        real_names = spread([r['real_names'] for _, r in runs])
        cells = [f'{m:.3f} ± {s:.3f}' for m, s in columns]
        print(f"mean ± sd | {cells[0]:>26} | {cells[1]:>13} | {cells[2]:>14} | "
              f"{f'{real_names[0]:.1f} ± {real_names[1]:.1f}':>17} |")
        for (name, key), (m, s) in zip(keys, columns):
            print(f"{name} over {len(seeds)} seeds: mean {m:.4f}, sd {s:.4f} "
                  f"(seed {runs[0][0]}: {runs[0][1][key]:.4f})")

if __name__ == '__main__':
    main()
