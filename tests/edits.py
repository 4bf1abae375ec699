"""The command-line edits the measuring scripts share (experiment.py, phases.py, benchmark.py): a
number is num_steps, and name=value changes the top-level line `name = ...` as a reader edits it."""
import os
import re
import sys


def parse(tool, args):
    """The edits among the arguments, and the other arguments (file names), in order."""
    edits, rest = {}, []
    for arg in args:
        if arg.isdigit():
            edits['num_steps'] = arg
        elif '=' in arg:
            name, value = arg.split('=', 1)
            edits[name] = value
        elif arg.startswith('-'):
            sys.exit(f'{tool}: unknown option {arg!r}')
        else:
            rest.append(arg)
    if not os.path.exists('input.txt'):
        sys.exit(f'{tool}: run it from the directory that holds input.txt (the repository root)')
    return edits, rest


def edited(tool, path, edits):
    """The source of the file at path, with the edits made."""
    source = open(path, encoding='utf-8').read()
    for name, value in edits.items():
        source, found = re.subn(rf'^{name} = .*$', f'{name} = {value}', source, count=1, flags=re.M)
        if not found:
            sys.exit(f'{tool}: {path} has no top-level `{name} = ...` line')
    return source
