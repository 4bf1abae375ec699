"""Value's operations and the building blocks linear, softmax and rmsnorm, worked by hand: their
values and gradients against the formulas, where the check (tests/checks.py: `operations`,
`backward`, `blocks`, which test_check.py runs on this file) compares gradients with finite
differences; and the depth at which backward()'s recursive sort stops.
"""
import math
import random
import shutil
import subprocess
import sys

import pytest

import checks
from conftest import ROOT, SCRIPT, load, same

mg = load()  # the real microgpt.py: these tests use its Value, linear, softmax and rmsnorm
Value = mg.Value


def check_gradients(f, xs, reference=None):
    """Every input's gradient against finite differences (checks.gradient_errors) and, if given,
    the forward value against `reference` worked on plain floats."""
    if reference is not None:
        assert f(*map(Value, xs)).data == same(reference(*xs))
    return checks.gradient_errors(mg, f, xs, 'check')


def values(xs):
    return [Value(x) for x in xs]


def test_the_check_finds_the_operations_of_the_shipped_file():
    found = set(checks.operations(mg))
    assert {f'Value.{name}' for name in ['__add__', '__mul__', '__pow__', 'log', 'exp', 'relu',
                                         '__neg__', '__radd__', '__sub__', '__rsub__', '__rmul__',
                                         '__truediv__', '__rtruediv__']} <= found


# --- Hand-written cases, for what the search above does not pin ---

OPERATIONS = {  # name: (the operation on Values, the same on floats, where it is checked)
    'add': (lambda a, b: a + b, lambda a, b: a + b, [0.7, -1.3]),
    'mul': (lambda a, b: a * b, lambda a, b: a * b, [0.7, -1.3]),
    'div': (lambda a, b: a / b, lambda a, b: a / b, [0.7, -1.3]),
    'pow 2 (negative base)': (lambda a: a ** 2, lambda a: a ** 2, [-0.4]),
    'pow -0.5': (lambda a: a ** -0.5, lambda a: a ** -0.5, [0.3]),
    'exp (large)': (lambda a: a.exp(), math.exp, [2.5]),
    'relu, positive side': (lambda a: a.relu(), lambda a: max(a, 0.0), [0.8]),
    'relu, negative side': (lambda a: a.relu(), lambda a: max(a, 0.0), [-0.8]),
    'number - v': (lambda a: 2 - a, lambda a: 2 - a, [0.6]),
    'number / v': (lambda a: 3 / a, lambda a: 3 / a, [0.6]),
    'sum() of Values': (lambda a, b, c: sum([a, b, c]), lambda a, b, c: a + b + c,
                        [0.1, -0.2, 0.3]),
}


@pytest.mark.parametrize('name', OPERATIONS)
def test_operation_value_and_gradient(name):
    operation, on_floats, xs = OPERATIONS[name]
    check_gradients(operation, xs, on_floats)


def test_relu_passes_nothing_back_below_zero():
    a, b = Value(-0.5), Value(0.5)
    (a.relu() + b.relu()).backward()
    assert (a.grad, b.grad) == (0, 1)


def test_the_same_node_twice_in_one_operation():
    a, = check_gradients(lambda a: a * a + a + a, [0.3])
    assert a.grad == same(2 * 0.3 + 2)


DEPTH_CHECK = r'''
import contextlib, io, sys
with contextlib.redirect_stdout(io.StringIO()):
    import microgpt
limit = sys.getrecursionlimit()
def chain(depth):  # a graph `depth` nodes deep: x + 1 + 1 + ...
    x = leaf = microgpt.Value(0.5)
    for _ in range(depth):
        x = x + 1.0
    return x, leaf
x, leaf = chain(limit - 100)
x.backward()
print('below the limit:', leaf.grad == 1)
# far past it: PyPy's limit is on stack space, and compiled code takes less
x, leaf = chain(100 * limit)
try:
    x.backward()
    print('past the limit:', 'right gradient' if leaf.grad == 1 else 'WRONG gradient')
except RecursionError:
    print('past the limit: RecursionError')
'''


def test_a_graph_deeper_than_the_recursion_limit_stops_with_a_recursion_error(tmp_path):
    # In a child process: an interpreter whose stack overflows dies, and would take pytest with it.
    # The depth is the file's own limit (Python's default, 1000), whatever it is set to. A
    # backward() that sorts without recursion (progression/README.md shows one) gets the gradient
    # right instead.
    shutil.copy(ROOT / 'input.txt', tmp_path)
    shutil.copy(SCRIPT, tmp_path / 'microgpt.py')
    result = subprocess.run([sys.executable, '-c', DEPTH_CHECK], cwd=tmp_path, capture_output=True,
                            timeout=60)
    assert result.returncode == 0, (f'the interpreter died ({result.returncode}): '
                                    f'{result.stderr.decode()}')
    below, past = result.stdout.decode().splitlines()
    assert below == 'below the limit: True'
    assert past in ('past the limit: RecursionError', 'past the limit: right gradient'), past


# --- linear, softmax, rmsnorm: their values (their gradients: the check's `blocks`) ---

def test_linear_is_a_matrix_times_a_vector():
    rng = random.Random(1)
    n_in, n_out = 5, 3
    xs = [rng.uniform(-1, 1) for _ in range(n_in + n_in * n_out)]
    rows = [xs[n_in + r * n_in:n_in + (r + 1) * n_in] for r in range(n_out)]
    out = mg.linear(values(xs[:n_in]), [values(row) for row in rows])
    assert [o.data for o in out] == same([sum(w * x for w, x in zip(row, xs[:n_in]))
                                          for row in rows])


def test_softmax_is_the_formula():
    xs = [0.3, -1.2, 2.5, 0.0, 1.1, -0.4]
    probs = [p.data for p in mg.softmax(values(xs))]
    total = sum(math.exp(x) for x in xs)
    assert probs == same([math.exp(x) / total for x in xs])


def test_softmax_is_stable_for_large_logits():
    probs = [p.data for p in mg.softmax(values([1000.0, 1000.0, 990.0]))]
    assert sum(probs) == same(1.0) and probs[0] == same(probs[1])


def test_rmsnorm_is_the_formula():
    xs = [0.5, -1.5, 0.25, 2.0, -0.75, 1.0, 0.1]
    scale = (sum(x * x for x in xs) / len(xs) + 1e-5) ** -0.5
    assert [y.data for y in mg.rmsnorm(values(xs))] == same([x * scale for x in xs])
