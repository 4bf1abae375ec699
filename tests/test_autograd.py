"""Every operation of Value, and the building blocks linear, softmax and rmsnorm, against finite differences."""
import math
import random

import pytest

from conftest import H, assert_close, load, same

mg = load()  # the real microgpt.py: these tests use its Value, linear, softmax and rmsnorm
Value = mg.Value


def check_gradients(f, xs, reference=None):
    """Build f from Values at xs, run backward() once, and compare every input's gradient with central
    differences of f; if given, also compare the forward value with `reference` worked on plain floats."""
    inputs = [Value(x) for x in xs]
    out = f(*inputs)
    out.backward()
    if reference is not None:
        assert out.data == same(reference(*xs))
    for i, x in enumerate(xs):
        up, down = list(xs), list(xs)
        up[i], down[i] = x + H, x - H
        numeric = (f(*map(Value, up)).data - f(*map(Value, down)).data) / (2 * H)
        assert_close(inputs[i].grad, numeric, f'input {i}')
    return inputs


OPERATIONS = {  # name: (the operation on Values, the same on floats, where it is checked)
    'add': (lambda a, b: a + b, lambda a, b: a + b, [0.7, -1.3]),
    'sub': (lambda a, b: a - b, lambda a, b: a - b, [0.7, -1.3]),
    'mul': (lambda a, b: a * b, lambda a, b: a * b, [0.7, -1.3]),
    'div': (lambda a, b: a / b, lambda a, b: a / b, [0.7, -1.3]),
    'pow 3': (lambda a: a ** 3, lambda a: a ** 3, [-1.2]),
    'pow 2 (negative base)': (lambda a: a ** 2, lambda a: a ** 2, [-0.4]),
    'pow -2': (lambda a: a ** -2, lambda a: a ** -2, [0.8]),
    'pow 0.5': (lambda a: a ** 0.5, lambda a: a ** 0.5, [1.7]),
    'pow -0.5': (lambda a: a ** -0.5, lambda a: a ** -0.5, [0.3]),
    'log': (lambda a: a.log(), math.log, [0.45]),
    'exp': (lambda a: a.exp(), math.exp, [-0.9]),
    'exp (large)': (lambda a: a.exp(), math.exp, [2.5]),
    'relu, positive side': (lambda a: a.relu(), lambda a: max(a, 0.0), [0.8]),
    'relu, negative side': (lambda a: a.relu(), lambda a: max(a, 0.0), [-0.8]),
    'neg': (lambda a: -a, lambda a: -a, [0.6]),
    'number + v': (lambda a: 2 + a, lambda a: 2 + a, [0.6]),
    'v + number': (lambda a: a + 2, lambda a: a + 2, [0.6]),
    'number - v': (lambda a: 2 - a, lambda a: 2 - a, [0.6]),
    'v - number': (lambda a: a - 2, lambda a: a - 2, [0.6]),
    'number * v': (lambda a: 3 * a, lambda a: 3 * a, [0.6]),
    'v * number': (lambda a: a * 3, lambda a: a * 3, [0.6]),
    'number / v': (lambda a: 3 / a, lambda a: 3 / a, [0.6]),
    'v / number': (lambda a: a / 4, lambda a: a / 4, [0.6]),
    'sum() of Values': (lambda a, b, c: sum([a, b, c]), lambda a, b, c: a + b + c, [0.1, -0.2, 0.3]),
}


@pytest.mark.parametrize('name', OPERATIONS)
def test_operation_gradient(name):
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
    for _ in range(50_000):  # far past sys.getrecursionlimit(): a recursive walk would fail here
        x = x * 1.0001 + 0.0001
    x.backward()
    assert leaf.grad == same(1.0001 ** 50_000)


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
    out = mg.linear(values(xs[:n_in]), [values(xs[n_in + r * n_in:n_in + (r + 1) * n_in]) for r in range(n_out)])
    for r in range(n_out):  # each output is its row's dot product with x
        row = xs[n_in + r * n_in:n_in + (r + 1) * n_in]
        assert out[r].data == same(sum(w * x for w, x in zip(row, xs[:n_in])))


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
