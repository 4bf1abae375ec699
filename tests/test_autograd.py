"""Every operation of Value, and the building blocks linear, softmax and rmsnorm, against finite differences.

The suite finds Value's operations itself (every method or operator that returns a new Value), so an
operation a learner adds, a `tanh` say, is checked by name without a test written for it.
"""
import inspect
import math
import random

import pytest

from conftest import H, NOTES, assert_close, load, same

mg = load()  # the real microgpt.py: these tests use its Value, linear, softmax and rmsnorm
Value = mg.Value


def gradient_errors(f, xs, what):
    """Build f from Values at xs, run backward() once, and compare every input's gradient with central
    differences of f. Returns the inputs. `what` names the check in a failure's message."""
    inputs = [Value(x) for x in xs]
    f(*inputs).backward()
    for i, x in enumerate(xs):
        up, down = list(xs), list(xs)
        up[i], down[i] = x + H, x - H
        numeric = (f(*map(Value, up)).data - f(*map(Value, down)).data) / (2 * H)
        assert_close(inputs[i].grad, numeric, f'{what}: d/d(input {i})')
    return inputs


def check_gradients(f, xs, reference=None):
    """As gradient_errors, and if given, the forward value against `reference` worked on plain floats."""
    if reference is not None:
        assert f(*map(Value, xs)).data == same(reference(*xs))
    return gradient_errors(f, xs, 'check')


# --- Value's operations, found by looking at the class ---

POINTS = [-1.7, -0.6, -0.2, 0.3, 0.8, 1.4, 2.3]  # where to try an operation: both signs, near 0 and not
PAIRS = [(0.7, -1.3), (-0.4, 0.9), (1.6, 0.5), (-1.1, -2.2)]  # (self, other), when other is a Value too
NUMBERS = [2, 3, -1, 0.5, -1.5]  # other, as a plain number: a constant, or an exponent for **
ENOUGH = 3  # points of its domain at which an operation must be checked


def candidates():
    """The methods Value defines, but __init__ and backward: those that return a new Value are its
    operations. An added one (a `tanh`, say) is found and checked without a test written for it."""
    return [name for name, attr in vars(Value).items()
            if inspect.isfunction(attr) and name not in ('__init__', 'backward')]


def tries(method):
    """The ways to call a method: (the points where its Value inputs are, its plain-number arguments)."""
    params = list(inspect.signature(method).parameters.values())[1:]
    if any(p.default is p.empty for p in params[1:]):
        return []  # more than one argument besides self: nothing here knows how to call it
    if not params or params[0].default is not params[0].empty:
        return [((x,), ()) for x in POINTS]
    return [(pair, ()) for pair in PAIRS] + [((x,), (n,)) for x in POINTS for n in NUMBERS]


def result(method, xs, numbers):
    """The method's result on Values at xs, or None where it fails (the log of a negative number)."""
    try:
        return method(*[Value(x) for x in xs], *numbers)
    except (ArithmeticError, ValueError, TypeError):
        return None


def defined_around(method, xs, numbers):
    """True if the method gives a Value with a real, finite value at xs and a step H either side."""
    for i in range(len(xs)):
        for step in (0, H, -H):
            out = result(method, xs[:i] + (xs[i] + step,) + xs[i + 1:], numbers)
            if not (isinstance(out, Value) and isinstance(out.data, float) and math.isfinite(out.data)):
                return False
    return True


@pytest.mark.parametrize('name', candidates())
def test_every_operation_of_value_against_finite_differences(name):
    method = getattr(Value, name)
    ways = tries(method)
    usable = [(xs, numbers) for xs, numbers in ways if defined_around(method, xs, numbers)]
    if ways and not any(isinstance(result(method, xs, numbers), Value) for xs, numbers in ways):
        pytest.skip(f'Value.{name} returns no Value: not an operation')
    if len(usable) < ENOUGH:
        why = (f'it gives a Value at only {len(usable)} of the {len(ways)} points tried' if ways else
               'it takes more than one argument besides self')
        NOTES.append(f'Value.{name}: NOT CHECKED: {why}. Check it by hand: see OPERATIONS in '
                     f'tests/test_autograd.py')
        pytest.skip(f'Value.{name}: cannot probe it: {why}')
    for xs, numbers in usable:
        gradient_errors(lambda *inputs: method(*inputs, *numbers), list(xs),
                        f'Value.{name} at {", ".join(map(repr, xs + numbers))}')


def test_the_suite_finds_the_operations_of_the_reference():
    found = set(candidates())
    assert {'__add__', '__mul__', '__pow__', 'log', 'exp', 'relu', '__neg__', '__radd__', '__sub__',
            '__rsub__', '__rmul__', '__truediv__', '__rtruediv__'} <= found


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
    'sum() of Values': (lambda a, b, c: sum([a, b, c]), lambda a, b, c: a + b + c, [0.1, -0.2, 0.3]),
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
    da = 2 * 0.7 * 1.1 ** 2 + 1.1 * math.exp(0.77) + (1.1 + 1) / (0.77 + 0.7) + 3 / (0.77 + 3) ** 2 + 1
    assert a.grad == same(da)


def test_backward_from_a_leaf():
    a = Value(3.0)
    a.backward()
    assert a.grad == 1


def test_the_same_node_twice_in_one_operation():
    a, = check_gradients(lambda a: a * a + a + a, [0.3])
    assert a.grad == same(2 * 0.3 + 2)


def test_backward_reaches_a_graph_deeper_than_the_recursion_limit():
    x = leaf = Value(0.5)
    for _ in range(50_000):  # far past Python's limit of about 1,000 nested calls
        x = x * 1.0001 + 0.0001
    x.backward()
    assert leaf.grad == same(1.0001 ** 50_000)


# --- linear, softmax, rmsnorm ---

def values(xs):
    return [Value(x) for x in xs]


def weighted_sum(outputs, seed):
    # a scalar that depends on every output differently, so no output's gradient can hide
    # (a plain sum of softmax outputs would be the constant 1)
    rng = random.Random(seed)
    return sum(out * rng.uniform(-2, 2) for out in outputs)


def check_block(block, xs, seed=0):
    """Gradients of a weighted sum of block(inputs) with respect to every input, against finite differences."""
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
    assert [o.data for o in out] == same([sum(w * x for w, x in zip(row, xs[:n_in])) for row in rows])


def test_softmax_gradients_for_every_input():
    xs = [0.3, -1.2, 2.5, 0.0, 1.1, -0.4]
    check_block(mg.softmax, xs, seed=2)
    probs = [p.data for p in mg.softmax(values(xs))]
    total = sum(math.exp(x) for x in xs)
    assert probs == same([math.exp(x) / total for x in xs])


def test_softmax_is_stable_for_large_logits():
    probs = [p.data for p in mg.softmax(values([1000.0, 1000.0, 990.0]))]
    assert sum(probs) == same(1.0) and probs[0] == same(probs[1])


def test_rmsnorm_gradients_for_every_input():
    xs = [0.5, -1.5, 0.25, 2.0, -0.75, 1.0, 0.1]
    check_block(mg.rmsnorm, xs, seed=3)
    scale = (sum(x * x for x in xs) / len(xs) + 1e-5) ** -0.5
    assert [y.data for y in mg.rmsnorm(values(xs))] == same([x * scale for x in xs])
