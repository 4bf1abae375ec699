"""The operations of a file's autograd, found by looking at it, and checked against finite
differences.

An operation a learner adds is found and checked by name, without a test written for it: every
method of Value (but the engine's own: __init__, build_topo, backward), and every function of the
file but the model's own (which the suite knows by name: linear, softmax, rmsnorm, gpt,
document_loss, ...). Each is called with Values, plain numbers and lists of Values as its arguments;
the ways that give a Value (or a list of Values, which a random weighted sum turns into one) are
checked. tests/test_autograd.py checks the file under test this way, and tests/test_ladder.py every
rung of the ladder that has a Value.
"""
import inspect
import itertools
import math
import random

import pytest

from conftest import H, NOTES, assert_close

# where to try an operation: both signs, near 0 and not
POINTS = [-1.7, -0.6, -0.2, 0.3, 0.8, 1.4, 2.3]
NUMBERS = [2, 3, -1, 0.5, -1.5]  # plain-number arguments: a constant, an exponent for **, a bound
VECTOR = 3  # a list of Values given as an argument holds this many
ENOUGH = 3  # ways of calling it at which an operation must be checked
NOT_OPERATIONS = ('__init__', 'backward', 'build_topo')  # the engine itself, not operations
# the file's own model: tested by name
THE_MODEL = ('matrix', 'linear', 'softmax', 'rmsnorm', 'gpt', 'mlp', 'bigram', 'document_loss',
             'train', 'sample', 'linear_backward', 'gradient_check')


def weighted_sum(outputs, seed):
    """A scalar that depends on every output differently, so no output's gradient can hide (a plain
    sum of softmax outputs would be the constant 1)."""
    rng = random.Random(seed)
    return sum(out * rng.uniform(-2, 2) for out in outputs)


def gradient_errors(Value, f, xs, what):
    """Build f from Values at xs, run backward() once, and compare every input's gradient with
    central differences of f. Returns the inputs. `what` names the check in a failure's message."""
    inputs = [Value(x) for x in xs]
    f(*inputs).backward()
    for i, x in enumerate(xs):
        up, down = list(xs), list(xs)
        up[i], down[i] = x + H, x - H
        numeric = (f(*map(Value, up)).data - f(*map(Value, down)).data) / (2 * H)
        assert_close(inputs[i].grad, numeric, f'{what}: d/d(Value input {i})')
    return inputs


def candidates(mg):
    """The operations to check in the module mg: Value's methods but the engine's own, as
    'Value.name', and the file's functions but the model's own, as 'name'."""
    methods = [f'Value.{name}' for name, attr in vars(mg.Value).items()
               if inspect.isfunction(attr) and name not in NOT_OPERATIONS]
    functions = [name for name, attr in vars(mg).items()
                 if inspect.isfunction(attr) and attr.__code__.co_filename == mg.__file__
                 and name not in THE_MODEL]
    return methods + functions


def operation(mg, name):
    return (getattr(mg.Value, name.split('.', 1)[1]) if name.startswith('Value.')
            else getattr(mg, name))


def tries(mg, name):
    """The ways to call an operation: lists of (parameter name, kind, x), where kind is 'value' (x
    is where the Value is), 'number' (x is the number) or 'vector' (x holds where each Value is). A
    method's self is a Value; every other argument is tried as each kind, and arguments with
    defaults keep them. So `clamp(lo, hi)` is tried with numbers for lo and hi, and with Values for
    them too."""
    parameters = [p.name for p in inspect.signature(operation(mg, name)).parameters.values()
                  if p.default is p.empty
                  and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fixed, names = ((parameters[:1], parameters[1:]) if name.startswith('Value.')
                    else ([], parameters))
    ways = []
    for kinds in itertools.product(['value', 'number', 'vector'], repeat=len(names)):
        for i, x in enumerate(POINTS):
            at = lambda j: POINTS[(i + 2 * j + 2) % len(POINTS)]
            for numbers in itertools.product(NUMBERS, repeat=kinds.count('number')):
                numbers = iter(numbers)
                ways.append([(p, 'value', x) for p in fixed] + [
                    (p, kind, at(j) if kind == 'value' else next(numbers) if kind == 'number'
                     else [at(j + k) for k in range(VECTOR)])
                    for j, (p, kind) in enumerate(zip(names, kinds))])
    return [way for way in ways if way]


def as_function(mg, name, way):
    """The call `way` as a function of its Value inputs alone (its plain numbers fixed), and where
    those inputs are. A list of Values in the output becomes one Value, a weighted sum of them."""
    function = operation(mg, name)
    def f(*inputs):
        inputs = iter(inputs)
        out = function(*[next(inputs) if kind == 'value' else [next(inputs) for _ in x]
                         if kind == 'vector' else x for _, kind, x in way])
        if isinstance(out, list) and out and all(isinstance(o, mg.Value) for o in out):
            out = weighted_sum(out, seed=len(out))
        return out
    xs = []
    for _, kind, x in way:
        xs += [x] if kind == 'value' else x if kind == 'vector' else []
    return f, xs


def describe(name, way):
    def show(kind, x):
        return (f'Value({x})' if kind == 'value' else repr(x) if kind == 'number'
                else '[' + ', '.join(f'Value({v})' for v in x) + ']')
    args = [show(kind, x) for _, kind, x in way]
    if name.startswith('Value.'):
        return f'{name}(' + ', '.join(
            [args[0]] + [f'{n}={a}' for (n, _, _), a in zip(way[1:], args[1:])]) + ')'
    return f'{name}(' + ', '.join(f'{n}={a}' for (n, _, _), a in zip(way, args)) + ')'


def result(Value, f, xs):
    """f on Values at xs, or None where it cannot be called that way (the log of a negative number,
    a Value exponent, a number or a list where the operation wants something else)."""
    try:
        return f(*[Value(x) for x in xs])
    except Exception:  # any failure means: it is not called this way
        return None


def defined_around(Value, f, xs):
    """True if f gives a Value with a real, finite value at xs and a step H either side of each
    input."""
    if not xs:
        return False
    for i in range(len(xs)):
        for step in (0, H, -H):
            out = result(Value, f, xs[:i] + [xs[i] + step] + xs[i + 1:])
            if not (isinstance(out, Value) and isinstance(out.data, (int, float))
                    and math.isfinite(out.data)):
                return False
    return True


def assert_one_local_derivative_per_input(out, what):
    """backward() pairs each node's inputs with its local derivatives by zip(), which stops at the
    shorter list: a missing derivative would silently give an input no gradient at all."""
    seen, stack = set(), [out]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            n, m = len(node._children), len(node._local_grads)
            assert n == m, (f'{what} makes a node with {n} inputs but {m} local derivatives: there '
                            f'must be one for each input (backward() pairs them up, and would drop '
                            f'the rest)')
            stack.extend(node._children)


def check_operation(mg, name, where=''):
    """Check one operation of mg at every way it can be called; skip it, saying why, if it gives no
    Value, or too few ways to probe. `where` prefixes the notes (a rung's name, say)."""
    Value = mg.Value
    ways = [(way, *as_function(mg, name, way)) for way in tries(mg, name)]
    if not any(isinstance(result(Value, f, xs), Value) for _, f, xs in ways):
        NOTES.append(f'{where}{name}: not checked as an operation: called with Values, numbers and '
                     f'lists of Values, it never gave a Value')
        pytest.skip(f'{name} gives no Value: not an operation')
    usable = [(way, f, xs) for way, f, xs in ways if defined_around(Value, f, xs)]
    if len(usable) < ENOUGH:
        why = f'it gives a Value in only {len(usable)} of the {len(ways)} ways it was called'
        NOTES.append(f'{where}{name}: NOT CHECKED: {why}. Check it by hand: see OPERATIONS in '
                     f'tests/test_autograd.py')
        pytest.skip(f'{name}: cannot probe it: {why}')
    for way, f, xs in usable:
        what = describe(name, way)
        assert_one_local_derivative_per_input(result(Value, f, xs), what)
        gradient_errors(Value, f, xs, what)
