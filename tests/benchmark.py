"""Benchmark microgpt's training: steps per second, graph nodes per step, peak memory.

A script, not a test (pytest does not collect it). Run it from the repository root, where input.txt is:

    python tests/benchmark.py                      # 100 steps of ./microgpt.py
    python tests/benchmark.py 50 n_embd=32         # 50 steps, with a hyperparameter edited as a reader would
    python tests/benchmark.py 100 old/microgpt.py  # another version of the file, to compare

It trains the given number of steps exactly as `python microgpt.py` does (the script's own train()),
then counts the Value nodes that 20 more steps build (on the first 20 documents again) and prints their
mean. Peak memory is the process's maximum resident set size: the interpreter and the dataset included.
"""
import os
import re
import resource
import sys
import time
import types

steps, path, edits = 100, 'microgpt.py', {}
for arg in sys.argv[1:]:
    if arg.isdigit():
        steps = int(arg)
    elif '=' in arg:
        name, value = arg.split('=', 1)
        edits[name] = value
    else:
        path = arg
if not os.path.exists('input.txt'):
    sys.exit('benchmark: run it from the directory that holds input.txt (the repository root)')

source = open(path, encoding='utf-8').read()
for name, value in edits.items():
    source, found = re.subn(rf'^{name} = .*$', f'{name} = {value}', source, count=1, flags=re.M)
    if not found:
        sys.exit(f'benchmark: {path} has no top-level `{name} = ...` line')
microgpt = types.ModuleType('microgpt')
exec(compile(source, path, 'exec'), microgpt.__dict__)  # loads the data and builds the model; no training

start = time.perf_counter()
microgpt.train(steps)
seconds = time.perf_counter() - start
print()
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB

# Count the nodes of 20 more steps (not timed): every Value made while they run.
made = 0
plain_init = microgpt.Value.__init__
def counting_init(self, *args, **kwargs):
    global made
    made += 1
    plain_init(self, *args, **kwargs)
microgpt.Value.__init__ = counting_init
microgpt.train(20)
microgpt.Value.__init__ = plain_init
print()

print(f"file:             {path} {' '.join(f'{k}={v}' for k, v in edits.items())}")
print(f"python:           {sys.version.split()[0]} on {os.uname().machine}, {os.cpu_count()} cores")
print(f"steps:            {steps} in {seconds:.1f} s")
print(f"steps per second: {steps / seconds:.1f}")
print(f"nodes per step:   {made / 20:.0f}")
print(f"peak memory:      {peak_mb:.0f} MB")
