"""Benchmark microgpt's training: steps per second, graph nodes per step, peak memory.

A script, not a test (pytest does not collect it). Run it from the repository root, where input.txt is:

    python tests/benchmark.py                  # 100 steps of ./microgpt.py
    python tests/benchmark.py 300 old/microgpt.py   # another version of the file, to compare

It trains the given number of steps exactly as `python microgpt.py` does (the script's own train()),
then counts the Value nodes that one more step builds. Peak memory is the process's maximum resident
set size, so it includes the interpreter and the dataset.
"""
import importlib.util
import os
import resource
import sys
import time

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
path = sys.argv[2] if len(sys.argv) > 2 else 'microgpt.py'
if not os.path.exists('input.txt'):
    sys.exit('benchmark: run it from the directory that holds input.txt (the repository root)')

spec = importlib.util.spec_from_file_location('microgpt_under_test', path)
microgpt = importlib.util.module_from_spec(spec)
spec.loader.exec_module(microgpt)  # loads the data and builds the model; no training yet

start = time.perf_counter()
microgpt.train(steps)
seconds = time.perf_counter() - start
print()
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB

# Count the nodes of one more step (not timed): every Value made while it runs.
made = 0
plain_init = microgpt.Value.__init__
def counting_init(self, *args, **kwargs):
    global made
    made += 1
    plain_init(self, *args, **kwargs)
microgpt.Value.__init__ = counting_init
microgpt.train(1)
microgpt.Value.__init__ = plain_init
print()

print(f"file:            {path}")
print(f"python:          {sys.version.split()[0]} on {os.uname().machine}, {os.cpu_count()} cores")
print(f"steps:           {steps} in {seconds:.1f} s")
print(f"steps per second: {steps / seconds:.2f}")
print(f"nodes per step:  {made}")
print(f"peak memory:     {peak_mb:.0f} MB")
