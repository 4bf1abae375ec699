"""Every operation of Value, and the building blocks linear, softmax and rmsnorm, against finite
differences.

The suite finds the operations itself (tests/operations.py), so an operation a learner adds is
checked by name without a test written for it.
"""
import math
import random
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SCRIPT, load, needs, require, same

require('Value')
from operations import (candidates, check_operation, gradient_errors,  # noqa: E402 (needs Value)
                        weighted_sum)

mg = load()  # the real microgpt.py: these tests use its Value, linear, softmax and rmsnorm
Value = mg.Value


def check_gradients(f, xs, reference=None):
    """As gradient_errors, and if given, the forward value against `reference` worked on plain
    floats."""
    if reference is not None:
        assert f(*map(Value, xs)).data == same(reference(*xs))
    return gradient_errors(Value, f, xs, 'check')


# --- The operations, found by looking at Value and at the file (tests/operations.py) ---

@pytest.mark.parametrize('name', candidates(mg))
def test_every_operation_against_finite_differences(name):
    check_operation(mg, name)


def test_the_suite_finds_the_operations_of_the_reference():
    found = set(candidates(mg))
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


def test_a_value_used_in_several_places_gets_the_sum_of_its_gradients():
    def branching(a, b):
        c = a * b  # c feeds four places below, a feeds three
        return c * c + c.exp() + (c + a).log() + a / (c + 3) + a.relu()
    a, b = check_gradients(branching, [0.7, 1.1])
    # worked by hand: d/da of a^2 b^2 + e^(ab) + log(ab + a) + a / (ab + 3) + a
    da = (2 * 0.7 * 1.1 ** 2 + 1.1 * math.exp(0.77) + (1.1 + 1) / (0.77 + 0.7)
          + 3 / (0.77 + 3) ** 2 + 1)
    assert a.grad == same(da)


def test_backward_from_a_leaf():
    a = Value(3.0)
    a.backward()
    assert a.grad == 1


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


# --- linear, softmax, rmsnorm ---

def values(xs):
    return [Value(x) for x in xs]


def check_block(block, xs, seed=0):
    """Gradients of a weighted sum of block(inputs) with respect to every input, against finite
    differences."""
    check_gradients(lambda *inputs: weighted_sum(block(list(inputs)), seed), xs)


def test_linear_gradients_for_every_input_and_weight():
    rng = random.Random(1)
    n_in, n_out = 5, 3
    xs = [rng.uniform(-1, 1) for _ in range(n_in + n_in * n_out)]
    def block(inputs):
        x, flat = inputs[:n_in], inputs[n_in:]
        w = [flat[r * n_in:(r + 1) * n_in] for r in range(n_out)]
        return mg.linear(x, w)
    check_block(block, xs)
    rows = [xs[n_in + r * n_in:n_in + (r + 1) * n_in] for r in range(n_out)]
    out = mg.linear(values(xs[:n_in]), [values(row) for row in rows])
    assert [o.data for o in out] == same([sum(w * x for w, x in zip(row, xs[:n_in]))
                                          for row in rows])


def test_softmax_gradients_for_every_input():
    xs = [0.3, -1.2, 2.5, 0.0, 1.1, -0.4]
    check_block(mg.softmax, xs, seed=2)
    probs = [p.data for p in mg.softmax(values(xs))]
    total = sum(math.exp(x) for x in xs)
    assert probs == same([math.exp(x) / total for x in xs])


def test_softmax_is_stable_for_large_logits():
    probs = [p.data for p in mg.softmax(values([1000.0, 1000.0, 990.0]))]
    assert sum(probs) == same(1.0) and probs[0] == same(probs[1])


@needs('rmsnorm')
def test_rmsnorm_gradients_for_every_input():
    xs = [0.5, -1.5, 0.25, 2.0, -0.75, 1.0, 0.1]
    check_block(mg.rmsnorm, xs, seed=3)
    scale = (sum(x * x for x in xs) / len(xs) + 1e-5) ** -0.5
    assert [y.data for y in mg.rmsnorm(values(xs))] == same([x * scale for x in xs])
