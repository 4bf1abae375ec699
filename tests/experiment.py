"""Did an edit help? Train microgpt.py as it stands and measure it on names it never trained on.

A script, not a test (pytest does not collect it). Run it from the repository root:

    python3 tests/experiment.py                    # the default run: 1000 steps of ./microgpt.py
    python3 tests/experiment.py 3000               # more steps (an edit of num_steps)
    python3 tests/experiment.py n_embd=32          # a hyperparameter edited, as a reader edits the file
    MICROGPT=my_copy.py python3 tests/experiment.py   # another version of the file

It trains with the file's own train(), exactly as `python microgpt.py` does, then prints:
- the mean training loss of the last 100 steps (one document a step, so one step's loss is noisy);
- the mean loss on held-out names: the last 500 documents after the shuffle, which no run of up to
  31,533 steps trains on;
- the share of 200 sampled names that copy a name the run trained on (the first 20 are the 20 samples
  `python microgpt.py` prints, and the first five of them are shown);
- seconds per training step, and the graph nodes one step's forward pass builds (the mean over the
  first 20 documents);
- the mean training loss of each twentieth of the run (50 steps each in the default run): the curve.
"""
import gc
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
exec(compile(source, path, 'exec'), mg.__dict__)  # loads the data and builds the model, as an import does
if mg.num_steps > len(mg.docs) - HELD_OUT:
    sys.exit(f'experiment: {mg.num_steps} steps would train on the held-out names; use at most '
             f'{len(mg.docs) - HELD_OUT}')

losses, train_document_loss = [], mg.document_loss
def recording_document_loss(doc):  # train() calls this once a step: note the step's loss
    loss = train_document_loss(doc)
    losses.append(loss.data)
    return loss
mg.document_loss = recording_document_loss

if sys.implementation.name == 'cpython':
    gc.disable()  # as the script does while training (see its last lines), here for the measuring too
start = time.perf_counter()
mg.train()
seconds = time.perf_counter() - start
mg.document_loss = train_document_loss
print()

samples = [mg.sample() for _ in range(SAMPLES)]  # the first 20 are those `python microgpt.py` prints
trained_on = {mg.docs[step % len(mg.docs)] for step in range(mg.num_steps)}
copies = sum(name in trained_on for name in samples)
held_out = sum(mg.document_loss(doc).data for doc in mg.docs[-HELD_OUT:]) / HELD_OUT

made = [0]
plain_init = mg.Value.__init__
def counting_init(self, *args):  # counts the nodes made, while 20 forward passes run (not timed)
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
print(f"train loss, mean of the last 100 steps:        {sum(losses[-100:]) / len(losses[-100:]):.4f}")
print(f"held-out loss, {HELD_OUT} names never trained on:    {held_out:.4f}")
print(f"sampled names that copy a training name:       {copies / SAMPLES:.0%} of {SAMPLES}")
print(f"seconds per step:                              {seconds / mg.num_steps:.3f}")
print(f"graph nodes per step (forward):                {made[0] / 20:,.0f}")
print(f"first five samples:                            {', '.join(samples[:5])}")
print(f"mean loss of each {block} steps:  " + ' '.join(f'{x:.2f}' for x in curve))
