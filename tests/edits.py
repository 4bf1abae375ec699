"""The command-line edits the measuring scripts share (experiment.py, ladder.py, phases.py,
benchmark.py): a number is num_steps, and name=value changes the setting `name`, as a reader would.

The value is Python source, as typed; it replaces the setting's value where it first appears in the
file, at any indentation (`num_steps` and `temperature` stand in the `__main__` block), the rest of
the line kept (its indentation, its comment):
- a line `name = ...`: `n_embd=32`, `temperature=0.2`, `lr_t=learning_rate` (no decay);
- a name among several set on one line: `beta1=0.9` in `learning_rate, beta1, beta2, eps_adam =
  0.01, 0.85, 0.99, 1e-8`;
- a parameter's default: `std=0.02` in `def matrix(nout, nin, std=0.08)`.
"""
import ast
import os
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


def setting_values(tree, name):
    """The nodes that give `name` its value: in `name = x`, `a, name = y, x` and `def f(name=x)`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
            if isinstance(target, ast.Name) and target.id == name:
                yield value
            elif (isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple)
                  and len(target.elts) == len(value.elts)):
                for t, v in zip(target.elts, value.elts):
                    if isinstance(t, ast.Name) and t.id == name:
                        yield v
        elif isinstance(node, (ast.FunctionDef, ast.Lambda)):
            args = node.args
            positional = args.posonlyargs + args.args
            pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
            pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            for arg, default in pairs:
                if arg.arg == name:
                    yield default


def edit(source, name, value):
    """source with the setting `name` given the value `value` (source text), or None if it has no
    such setting."""
    found = list(setting_values(ast.parse(source), name))
    if not found:
        return None
    node = min(found, key=lambda n: (n.lineno, n.col_offset))
    lines = source.encode('utf-8').split(b'\n')  # the parser's columns count UTF-8 bytes
    start, end = node.lineno - 1, node.end_lineno - 1
    lines[start:end + 1] = [lines[start][:node.col_offset] + value.encode('utf-8')
                            + lines[end][node.end_col_offset:]]
    return b'\n'.join(lines).decode('utf-8')


def edited(tool, path, edits):
    """The source of the file at path, with the edits made."""
    with open(path, encoding='utf-8') as f:
        source = f.read()
    for name, value in edits.items():
        changed = edit(source, name, value)
        if changed is None:
            sys.exit(f'{tool}: {path} has no setting `{name}` (a line `{name} = ...`, a name '
                     f'among several set on one line, or a parameter\'s default)')
        source = changed
    return source
