"""Where a training step's time goes: the file's own training loop, timed phase by phase.

A script, not a test (pytest does not collect it). Run it from the repository root with the
interpreter you want to measure:

    python3 tests/phases.py                # 300 steps of ./microgpt.py
    pypy3 tests/phases.py 1000             # PyPy, a whole run
    python3 tests/phases.py 200 n_embd=32  # a setting edited, as a reader edits the file
    python3 tests/phases.py my_copy.py            # another version of the file

It runs the file's own `if __name__ == '__main__':` block up to its sampling (as
tests/experiment.py does: a step is a call of document_loss made by the block itself), wrapping
document_loss() (the forward pass) and Value.backward(); the rest of a step is Adam's update. Then,
on graphs of the first 50 documents built afresh, it times the topological sort (build_topo) alone
and the whole backward() alone: their ratio splits backward() into the sort and the chain rule.
The cycle collector is left as the file leaves it, as `python file.py` runs. On PyPy it also prints
the share of the time its garbage collector took.
"""
import gc
import os
import sys
import time

from checks import Copy
from edits import edited, parse
from experiment import train

edits, files = parse('phases', sys.argv[1:])
if len(files) > 1:
    sys.exit(f'phases: one file at a time, not {" and ".join(files)}')
path = files[0] if files else 'microgpt.py'
copy = Copy(path)
copy.text = edited('phases', path, {'num_steps': '300', **edits})
mg = copy.load('.')
if not hasattr(mg, 'Value'):
    sys.exit(f'phases: {path} has no Value, so no backward() to time')

spent = dict(forward=0.0, backward=0.0, update=0.0)
last = [None]  # when the last backward() ended: the update runs from there to the next forward
real_document_loss, real_backward = mg.document_loss, mg.Value.backward


def document_loss(doc):
    start = time.perf_counter()
    if last[0] is not None:
        spent['update'] += start - last[0]
    loss = real_document_loss(doc)
    spent['forward'] += time.perf_counter() - start
    return loss


def backward(self):
    start = time.perf_counter()
    real_backward(self)
    last[0] = time.perf_counter()
    spent['backward'] += last[0] - start


mg.document_loss, mg.Value.backward = document_loss, backward
pypy = sys.implementation.name == 'pypy'
collected = gc.get_stats().total_gc_time if pypy else 0  # milliseconds, so far
losses, _, _ = train(mg)
steps = len(losses)
spent['update'] += time.perf_counter() - last[0]
collected = (gc.get_stats().total_gc_time - collected) / 1000 if pypy else 0
mg.document_loss, mg.Value.backward = real_document_loss, real_backward

# backward() split: the sort alone, and all of backward(), on graphs built afresh
sort = whole = 0.0
for doc in mg.docs[:50]:
    loss = mg.document_loss(doc)
    start = time.perf_counter()
    loss.build_topo([], set())
    sort += time.perf_counter() - start
    loss = mg.document_loss(doc)
    start = time.perf_counter()
    loss.backward()
    whole += time.perf_counter() - start
    for p in mg.params:
        p.grad = 0

total = sum(spent.values())
print(f"python {sys.version.split()[0]} ({sys.implementation.name}), {steps} steps: "
      f"{total / steps * 1000:.1f} ms a step")
print(f"  forward {spent['forward'] / total:.0%}, backward {spent['backward'] / total:.0%} "
      f"(sort {sort / whole:.0%} of it, chain rule {1 - sort / whole:.0%}), "
      f"update {spent['update'] / total:.0%}")
if pypy:
    print(f'  the garbage collector, within those: {collected / total:.0%}')
