"""Did an edit help? Train microgpt.py (or a rung of the ladder) as it stands, and measure it on
names it never trained on.

A script, not a test (pytest does not collect it). Run it from the repository root:

    python3 tests/experiment.py                    # the default run: 1000 steps of ./microgpt.py
    python3 tests/experiment.py 3000               # more steps (an edit of num_steps)
    python3 tests/experiment.py n_embd=32          # a hyperparameter edited,
                                                     as a reader edits the file
    MICROGPT=my_copy.py python3 tests/experiment.py   # another version of the file
    MICROGPT=progression/train3.py python3 tests/experiment.py   # a rung of the ladder

It trains with the file's own train(), exactly as `python microgpt.py` does, then prints:
- the mean training loss of the last 100 steps (one document a step, so one step's loss is noisy);
- the mean loss on held-out names: the last 500 documents after the shuffle, which no run of up to
  31,533 steps trains on; and e to that loss, the "effective choices": as unsure as a fair pick
  among that many tokens, out of vocab_size (27 for the names);
- of 200 sampled names (the first 20 are the 20 samples `python microgpt.py` prints, and the first
  five of them are shown): how many are real names, a line of input.txt, split into those the run
  trained on and those it never saw;
- seconds per training step, and the graph nodes one step's forward pass builds (the mean over the
  first 20 documents; a rung without autograd builds none);
- the mean training loss of each twentieth of the run (50 steps each in the default run): the curve.
"""
import gc
import math
import os
import platform
import sys
import time
import types

from edits import edited, parse

HELD_OUT, SAMPLES = 500, 200

path = os.environ.get('MICROGPT') or 'microgpt.py'
edits, others = parse('experiment', sys.argv[1:])
if others:
    sys.exit(f'experiment: {others[0]!r} is neither a number of steps nor an edit like n_embd=32')
source = edited('experiment', path, edits)
mg = types.ModuleType('microgpt')
# loads the data and builds the model, as an import does
exec(compile(source, path, 'exec'), mg.__dict__)
if mg.num_steps > len(mg.docs) - HELD_OUT:
    sys.exit(f'experiment: {mg.num_steps} steps would train on the held-out names; use at most '
             f'{len(mg.docs) - HELD_OUT}')

def value_of(loss):  # a Value, a plain number (train0), or a number with its gradients (train1)
    loss = loss[0] if isinstance(loss, tuple) else loss
    return getattr(loss, 'data', loss)


losses, train_document_loss = [], mg.document_loss
def recording_document_loss(doc):  # train() calls this once a step: note the step's loss
    loss = train_document_loss(doc)
    losses.append(value_of(loss))
    return loss
mg.document_loss = recording_document_loss

if sys.implementation.name == 'cpython':
    # as the script does while training (see its last lines), here for the measuring too
    gc.disable()
start = time.perf_counter()
mg.train()
seconds = time.perf_counter() - start
mg.document_loss = train_document_loss
print()

# the first 20 are those `python microgpt.py` prints
samples = [mg.sample() for _ in range(SAMPLES)]
trained_on = {mg.docs[step % len(mg.docs)] for step in range(mg.num_steps)}
real = set(mg.docs)
seen = sum(name in trained_on for name in samples)
unseen = sum(name in real and name not in trained_on for name in samples)
held_out = sum(value_of(mg.document_loss(doc)) for doc in mg.docs[-HELD_OUT:]) / HELD_OUT

made = [0]
if hasattr(mg, 'Value'):
    plain_init = mg.Value.__init__
    # counts the nodes made, while 20 forward passes run (not timed)
    def counting_init(self, *args):
        made[0] += 1
        plain_init(self, *args)
    mg.Value.__init__ = counting_init
    for doc in mg.docs[:20]:
        mg.document_loss(doc)
    mg.Value.__init__ = plain_init

block = max(1, mg.num_steps // 20)
curve = [sum(losses[i:i + block]) / len(losses[i:i + block]) for i in range(0, len(losses), block)]
edited = ' '.join(f'{k}={v}' for k, v in edits.items())
print(f"{path}{' (' + edited + ')' if edited else ''}: {mg.num_steps} steps, "
      f"python {sys.version.split()[0]} ({sys.implementation.name}) on {platform.machine()}")
print(f"train loss, mean of the last 100 steps:        "
      f"{sum(losses[-100:]) / len(losses[-100:]):.4f}")
print(f"held-out loss, {HELD_OUT} names never trained on:    {held_out:.4f}")
print(f"effective choices, e to the held-out loss:     {math.exp(held_out):.1f} of {mg.vocab_size}")
print(f"sampled names that are real names:             {seen + unseen} of {SAMPLES}: "
      f"{seen} trained on, {unseen} never seen")
first = samples[:20]
print(f"  of the 20 a run prints:                      {sum(name in real for name in first)} real, "
      f"{sum(name in trained_on for name in first)} of them trained on: "
      f"{', '.join(name for name in first if name in real)}")
print(f"seconds per step:                              {seconds / mg.num_steps:.3f}")
print(f"graph nodes per step (forward):                {made[0] / 20:,.0f}")
print(f"first five samples:                            {', '.join(samples[:5])}")
print(f"mean loss of each {block} steps:  " + ' '.join(f'{x:.2f}' for x in curve))
