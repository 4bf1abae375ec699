"""The check of one copy of microgpt.py (or of a rung of the ladder): named checks of its model.

Standard library only. tests/check.py runs this file once per copy, in a scratch folder of the
copy's own that holds the copy and input.txt (the names), and reads the results it writes:

    python tests/checks.py COPY.py RESULTS.json

Every check judges the copy's model (its gradients, its training, its sampling), never the format of
what it prints. CHECKS below lists them in the order they run, each with what it proves; the
README's "What the check proves" is that list. What the check relies on in a copy (NEEDS) is the
names it calls and the setting lines it edits (`num_steps = ...`, at any indentation). A check that
cannot apply to a copy (a rung without autograd has no operations to check) is "not checked", with
the reason, and is not counted as passed.
"""
import ast
import builtins
import contextlib
import gc
import inspect
import io
import itertools
import json
import math
import os
import random
import re
import socket
import subprocess
import sys
import time
import types
import tokenize

# Tolerances, one pair for every check; none is tuned per check.
# Gradients are checked against central differences, (f(x + H) - f(x - H)) / 2H, in double
# precision. Their error is about H**2 * |f'''| / 6 (truncation) plus eps * |f| / H (rounding,
# eps = 2.2e-16): with H = 1e-6 and the functions here (|f| and |f'''| below about 100) that is
# under 1e-8 absolute. A gradient passes within RTOL relative plus ATOL absolute of the estimate,
# while a wrong local derivative, a lost branch or a cut path is off by a large fraction of the
# gradient itself.
H, RTOL, ATOL = 1e-6, 1e-6, 1e-8

# What the check calls in a copy. Those in NEEDS must be there; the others make more checks apply.
NEEDS = ['docs', 'uchars', 'BOS', 'document_loss']
WHY_MISSING = {
    'Value': 'it has no autograd (train0 counts; train1 works out its gradients by hand)',
    'gpt': 'its model sees only the current token: no gpt(), no attention, no KV cache',
    'state_dict': 'it has no weight matrices: it counts',
    'params': 'its weights are not Values in a list',
    'softmax': 'it has no softmax()',
}
# The engine itself and the model's own functions: checked as a whole below, not as operations
NOT_OPERATIONS = ('__init__', 'backward', 'build_topo')
THE_MODEL = ('matrix', 'linear', 'softmax', 'rmsnorm', 'gpt', 'mlp', 'bigram', 'document_loss',
             'linear_backward', 'gradient_check')
SMALL = ['ava', 'bob', 'abba', 'eve', 'otto', 'anna', 'ada']  # the dataset `trains` learns


class Failed(AssertionError):
    """The copy's model is wrong: the message says what, in the check's words."""


class NotChecked(Exception):
    """The check cannot apply to this copy: the message says why."""


def close(analytic, numeric, what, source='backward()'):
    if not abs(analytic - numeric) <= RTOL * max(abs(analytic), abs(numeric)) + ATOL:
        raise Failed(f'{what}: {source} gives {analytic!r}, finite differences {numeric!r}')


# --- The copy: what an import runs, and what its `if __name__ == '__main__':` block runs ---


def is_main_guard(node):
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == '__name__'
            and any(isinstance(c, ast.Constant) and c.value == '__main__'
                    for c in node.test.comparators))


class Copy:
    """A copy's source as Python reads it: decoded as Python decodes a file (a byte-order mark, a
    coding line), universal newlines (CRLF from Windows)."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        with open(path, 'rb') as f:
            raw = f.read()
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        self.text = io.TextIOWrapper(io.BytesIO(raw), encoding, newline=None).read()
        self.name = os.path.basename(path)

    def source(self, **settings):
        """The source with setting lines (`name = ...`, at any indentation) changed, as a reader
        edits them. A setting the copy does not have is a NotChecked for the check that needs it."""
        text = self.text
        for name, value in settings.items():
            text, found = re.subn(rf'^([ \t]*){name} = .*$', rf'\g<1>{name} = {value!r}', text,
                                  count=1, flags=re.M)
            if not found:
                raise NotChecked(f'{self.name} has no `{name} = ...` line to set')
        return text

    def has(self, name):
        return bool(re.search(rf'^[ \t]*{name} = ', self.text, flags=re.M))

    def narrow(self, **settings):
        """settings, with n_embd 8 where the copy has that line: half the width, a quarter of the
        work, every part of the model still there (4 heads of 2 dimensions)."""
        return dict({'n_embd': 8} if self.has('n_embd') else {}, **settings)

    def load(self, cwd='.', **settings):
        """A fresh module: what an import runs (everything but the __main__ block), from input.txt
        in cwd. Fresh each time: the seed is set again, nothing another check trained leaks in."""
        tree = ast.parse(self.source(**settings), self.path)
        body = [node for node in tree.body if not is_main_guard(node)]
        main = [stmt for node in tree.body if is_main_guard(node) for stmt in node.body]
        mg = types.ModuleType('copy')
        mg.__file__ = self.path
        mg.__builtins__ = builtins
        out = io.StringIO()
        with working_directory(cwd), contextlib.redirect_stdout(out):
            exec(compile(ast.Module(body, []), self.path, 'exec'), mg.__dict__)
        mg.__main_code__ = compile(ast.Module(main, []), self.path, 'exec')
        mg.__import_output__ = out.getvalue()
        return mg


@contextlib.contextmanager
def working_directory(path):
    here = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(here)


@contextlib.contextmanager
def no_cycle_collector():
    """Graphs have no reference cycles, and refcounting frees them: the collector would only re-scan
    them. Paused, a cycle stays, so a leak shows."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class Stop(Exception):
    """Raised at the copy's first draw of a token, to stop its __main__ block before it samples."""


def run_main(mg, cwd='.', sample=True):
    """Run the copy's __main__ block on mg (its training loop, then its sampling loop), as `python
    copy.py` runs it after what an import runs; the number of steps is the copy's num_steps line,
    set when it was loaded. With sample=False it stops at the first token drawn. Returns what it
    printed and the draws of random.choices (its population, weights, and what it drew)."""
    real_choices, draws = random.choices, []

    def choices(population, weights=None, *args, **kwargs):
        if not sample:
            raise Stop
        drawn = real_choices(population, weights, *args, **kwargs)
        draws.append((list(population), None if weights is None else list(weights), drawn))
        return drawn

    random.choices = choices
    out = io.StringIO()
    try:
        with working_directory(cwd), contextlib.redirect_stdout(out), no_cycle_collector():
            exec(mg.__main_code__, mg.__dict__)
    except Stop:
        pass
    finally:
        random.choices = real_choices
    return out.getvalue(), draws


# --- The model, seen the same way whoever works out its gradients ---


def value_of(loss):
    """A document's loss as a number: a Value, a plain number (train0), or a number with its
    hand-worked gradients (train1, by_hand.py)."""
    loss = loss[0] if isinstance(loss, tuple) else loss
    return getattr(loss, 'data', loss)


class Model:
    """A copy's weights and the gradient of a loss with respect to them: from backward() in a copy
    with autograd, or from the copy itself where document_loss returns (loss, its gradients)."""

    def __init__(self, mg, loss_fn):
        self.mg, self.loss_fn = mg, loss_fn
        self.by_hand = not hasattr(mg, 'Value')
        self.source = 'by hand' if self.by_hand else 'backward()'

    def loss(self):
        random.seed(0)  # a model that draws random numbers (dropout) draws the same ones each time
        return value_of(self.loss_fn())

    def gradients(self):
        """{matrix name: its gradient, row by row}."""
        random.seed(0)
        if self.by_hand:
            return self.loss_fn()[1]
        self.clear()
        with no_cycle_collector():
            self.loss_fn().backward()
        grads = {name: [[p.grad for p in row] for row in mat]
                 for name, mat in self.mg.state_dict.items()}
        self.clear()
        return grads

    def clear(self):
        """Every weight's .grad to 0: frozen ones too (left out of params), which still get a
        gradient in every backward() and which no optimizer clears."""
        if not self.by_hand:
            for mat in self.mg.state_dict.values():
                for row in mat:
                    for p in row:
                        p.grad = 0

    def get(self, name, r, c):
        w = self.mg.state_dict[name][r][c]
        return w if self.by_hand else w.data

    def set(self, name, r, c, x):
        if self.by_hand:
            self.mg.state_dict[name][r][c] = x
        else:
            self.mg.state_dict[name][r][c].data = x

    def cells(self, name):
        mat = self.mg.state_dict[name]
        return [(r, c) for r in range(len(mat)) for c in range(len(mat[r]))]


def finite_difference(model, name, r, c):
    x = model.get(name, r, c)
    model.set(name, r, c, x + H)
    up = model.loss()
    model.set(name, r, c, x - H)
    down = model.loss()
    model.set(name, r, c, x)
    return (up - down) / (2 * H)


def check_weights(model, picks=1, seed=0, skip=()):
    """Compare some weights of every matrix with finite differences of the loss: the one with the
    largest gradient, `picks` more among those with a gradient, and one among those without (finite
    differences must find 0 there too: an expert not chosen, a token not in the document). Every
    matrix is compared before failing, the last made first (the nearest the loss, as backward()
    goes): where gradients turn wrong, between the right ones and the wrong ones, is where to
    look."""
    grads = model.gradients()
    rng, wrong, right = random.Random(seed), [], []
    for name, grad in reversed(list(grads.items())):
        if name.startswith(skip):
            continue
        cells = model.cells(name)
        moved = [(r, c) for r, c in cells if grad[r][c] != 0]
        still = [(r, c) for r, c in cells if grad[r][c] == 0]
        chosen = {max(cells, key=lambda rc: abs(grad[rc[0]][rc[1]]))}
        chosen |= set(rng.sample(moved, min(picks, len(moved))))
        chosen |= set(rng.sample(still, min(1, len(still))))
        try:
            for r, c in sorted(chosen):
                close(grad[r][c], finite_difference(model, name, r, c), f'{name}[{r}][{c}]',
                      model.source)
            right.append(name)
        except Failed as error:
            wrong.append((name, str(error)))
    if wrong:
        raise Failed(f'{wrong[0][1]}\nwrong, from the loss back: '
                     f'{", ".join(name for name, _ in wrong)}; right: {", ".join(right) or "none"}')


def wrong_matrices(failure):
    """The matrices a failure of check_weights names as wrong, from the loss back."""
    found = re.search(r'^wrong, from the loss back: (.*); right:', str(failure), flags=re.M)
    return found.group(1).split(', ') if found else []


def check_directions(model, seed=0):
    """For each matrix, move all its weights at once along a random unit direction and compare the
    change of the loss with the one the gradient predicts: a wrong gradient at any weight shows."""
    grads = model.gradients()
    rng = random.Random(seed)
    for name, grad in grads.items():
        cells = model.cells(name)
        direction = [rng.gauss(0, 1) for _ in cells]
        norm = sum(d * d for d in direction) ** 0.5
        direction = [d / norm for d in direction]
        start = [model.get(name, r, c) for r, c in cells]
        losses = []
        for sign in (1, -1):
            for (r, c), x, d in zip(cells, start, direction):
                model.set(name, r, c, x + sign * H * d)
            losses.append(model.loss())
        for (r, c), x in zip(cells, start):
            model.set(name, r, c, x)
        predicted = sum(grad[r][c] * d for (r, c), d in zip(cells, direction))
        close(predicted, (losses[0] - losses[1]) / (2 * H),
              f'{name}, all its weights moved at once along a random direction', model.source)


def fresh_weights(model, seed=7):
    """Every weight drawn afresh, those the copy starts at 0 too (LoRA's B): a branch cut off from
    the graph passes nothing back while its weights are 0, and looks right."""
    rng = random.Random(seed)
    for name in model.mg.state_dict:
        for r, c in model.cells(name):
            model.set(name, r, c, rng.gauss(0, 0.08))


def empty_cache(mg):
    if hasattr(mg, 'n_layer'):
        return [[] for _ in range(mg.n_layer)], [[] for _ in range(mg.n_layer)]
    return [], []


def short_doc(mg, length=3):
    """A document of `length` characters (4 positions: enough to cross the cache)."""
    found = [doc for doc in mg.docs if len(doc) == length]
    return found[0] if found else min(mg.docs, key=lambda doc: abs(len(doc) - length))


def trained_matrices(mg):
    """The matrices whose weights are in params (all of them where there is no params list)."""
    if not hasattr(mg, 'params') or not hasattr(mg, 'Value'):
        return list(mg.state_dict)
    in_params = {id(p) for p in mg.params}
    return [name for name, mat in mg.state_dict.items()
            if any(id(p) in in_params for row in mat for p in row)]


def require(mg, *names):
    missing = [name for name in names if not hasattr(mg, name)]
    if missing:
        why = WHY_MISSING.get
        raise NotChecked('; '.join(f'it has no {name}: {why(name, "the check needs it")}'
                                   for name in missing))


# --- Operations: every method of Value and every helper function, found by looking ---

POINTS = [-1.7, -0.6, -0.2, 0.3, 0.8, 1.4, 2.3]  # where to try an operation: both signs, near 0
NUMBERS = [2, 3, -1, 0.5, -1.5]  # plain-number arguments: a constant, an exponent, a bound
VECTOR = 3  # a list of Values given as an argument holds this many
ENOUGH = 3  # ways of calling it at which an operation must give a Value to be checked
MOST_WAYS = 40  # ways tried at most: a helper of many arguments is not tried every way
SECONDS = 5  # an operation that takes longer to probe is named as not checked


def operations(mg):
    methods = [f'Value.{name}' for name, attr in vars(mg.Value).items()
               if inspect.isfunction(attr) and name not in NOT_OPERATIONS]
    functions = [name for name, attr in vars(mg).items()
                 if inspect.isfunction(attr) and attr.__code__.co_filename == mg.__file__
                 and name not in THE_MODEL]
    return methods + functions


def operation(mg, name):
    return getattr(mg.Value, name[6:]) if name.startswith('Value.') else getattr(mg, name)


def ways(mg, name):
    """The ways to call an operation: lists of (parameter, kind, x), kind 'value' (a Value at x),
    'number' (x itself) or 'vector' (Values at each x). A method's self is a Value; each other
    argument without a default is tried as each kind, at a few points, at most MOST_WAYS ways."""
    try:
        signature = inspect.signature(operation(mg, name))
    except (TypeError, ValueError):
        return []
    parameters = [p.name for p in signature.parameters.values() if p.default is p.empty
                  and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fixed, names = ((parameters[:1], parameters[1:]) if name.startswith('Value.')
                    else ([], parameters))
    found = []
    for kinds in itertools.product(['value', 'number', 'vector'], repeat=len(names)):
        numbers_tried = list(itertools.product(NUMBERS, repeat=kinds.count('number')))
        for i, x in enumerate(POINTS):
            at = lambda j: POINTS[(i + 2 * j + 2) % len(POINTS)]
            numbers = iter(numbers_tried[i % len(numbers_tried)])
            found.append([(p, 'value', x) for p in fixed] + [
                (p, kind, at(j) if kind == 'value' else next(numbers) if kind == 'number'
                 else [at(j + k) for k in range(VECTOR)])
                for j, (p, kind) in enumerate(zip(names, kinds))])
    found = [way for way in found if way]
    random.Random(0).shuffle(found)  # a fair sample of kinds and points, if there are too many
    return found[:MOST_WAYS]


def as_function(mg, name, way):
    """The call as a function of its Value inputs alone (its numbers fixed), and where they are. A
    list of Values out becomes one Value, a weighted sum, so no output's gradient can hide. The
    random state is set the same before every call: a helper that draws random numbers draws the
    same ones each time."""
    function = operation(mg, name)

    def f(*inputs):
        inputs = iter(inputs)
        random.seed(0)
        out = function(*[next(inputs) if kind == 'value' else [next(inputs) for _ in x]
                         if kind == 'vector' else x for _, kind, x in way])
        if isinstance(out, list) and out and all(isinstance(o, mg.Value) for o in out):
            out = weighted_sum(out, seed=len(out))
        return out
    xs = []
    for _, kind, x in way:
        xs += [x] if kind == 'value' else x if kind == 'vector' else []
    return f, xs


def weighted_sum(outputs, seed):
    """A scalar that depends on every output differently (a plain sum of softmax outputs is 1)."""
    rng = random.Random(seed)
    return sum(out * rng.uniform(-2, 2) for out in outputs)


def describe(name, way):
    def show(kind, x):
        return (f'Value({x})' if kind == 'value' else repr(x) if kind == 'number'
                else '[' + ', '.join(f'Value({v})' for v in x) + ']')
    args = [show(kind, x) for _, kind, x in way]
    if name.startswith('Value.'):
        return f'{name}(' + ', '.join([args[0]] + [f'{n}={a}' for (n, _, _), a
                                                   in zip(way[1:], args[1:])]) + ')'
    return f'{name}(' + ', '.join(f'{n}={a}' for (n, _, _), a in zip(way, args)) + ')'


def result(mg, f, xs):
    """f on Values at xs, or None where it cannot be called that way."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return f(*[mg.Value(x) for x in xs])
    except Exception:  # any failure means: it is not called this way
        return None


def defined_around(mg, f, xs):
    """True if f gives a finite Value at xs and a step H either side of each input."""
    if not xs:
        return False
    for i in range(len(xs)):
        for step in (0, H, -H):
            out = result(mg, f, xs[:i] + [xs[i] + step] + xs[i + 1:])
            if not (isinstance(out, mg.Value) and isinstance(out.data, (int, float))
                    and math.isfinite(out.data)):
                return False
    return True


def one_local_derivative_per_input(out, what):
    """backward() pairs a node's inputs with its local derivatives by zip(), which stops at the
    shorter: a missing derivative would silently give an input no gradient at all."""
    seen, stack = set(), [out]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            n, m = len(node._children), len(node._local_grads)
            if n != m:
                raise Failed(f'{what} makes a node with {n} inputs but {m} local derivatives: '
                             f'there must be one for each input (backward() pairs them up, and '
                             f'would drop the rest)')
            stack.extend(node._children)


def gradient_errors(mg, f, xs, what):
    """Build f from Values at xs, run backward() once, compare every input's gradient with central
    differences of f."""
    inputs = [mg.Value(x) for x in xs]
    with contextlib.redirect_stdout(io.StringIO()):
        f(*inputs).backward()
        for i, x in enumerate(xs):
            up, down = list(xs), list(xs)
            up[i], down[i] = x + H, x - H
            numeric = (f(*map(mg.Value, up)).data - f(*map(mg.Value, down)).data) / (2 * H)
            close(inputs[i].grad, numeric, f'{what}: d/d(Value input {i})')
    return inputs


def check_operation(mg, name):
    """One operation at every way it gives a Value; NotChecked, saying why, where it never gives
    one, or too rarely to probe, or too slowly."""
    start = time.perf_counter()
    tried = [(way, *as_function(mg, name, way)) for way in ways(mg, name)]
    usable = []
    for way, f, xs in tried:
        if time.perf_counter() - start > SECONDS:
            raise NotChecked(f'{name}: probing it took over {SECONDS} s')
        if defined_around(mg, f, xs):
            usable.append((way, f, xs))
    if not usable and not any(isinstance(result(mg, f, xs), mg.Value) for _, f, xs in tried):
        raise NotChecked(f'{name}: called with Values, numbers and lists of Values, it never gave '
                         f'a Value: not an operation')
    if len(usable) < ENOUGH:
        raise NotChecked(f'{name}: it gives a Value in only {len(usable)} of the {len(tried)} '
                         f'ways it was called')
    for way, f, xs in usable:
        what = describe(name, way)
        one_local_derivative_per_input(result(mg, f, xs), what)
        gradient_errors(mg, f, xs, what)


# --- The checks, in the order they run ---

CHECKS = []  # (name, what it proves, function)


def check(name, proves):
    def register(function):
        CHECKS.append((name, proves, function))
        return function
    return register


@check('loads', 'the copy has an `if __name__ == "__main__":` block, runs as an import runs it '
                '(all but that block) and has docs, uchars, BOS and document_loss')
def check_loads(copy):
    if not any(is_main_guard(node) for node in ast.parse(copy.text).body):
        raise Failed('it has no `if __name__ == "__main__":` block, so an import would train it: '
                     'the check runs its training and sampling loops from that block')
    mg = copy.load()
    missing = [name for name in NEEDS if not hasattr(mg, name)]
    if missing:
        raise Failed(f'it defines no {", ".join(missing)}: the check calls these')
    return []


@check('operations', 'every operation of Value, and every function the copy adds, gives the '
                     'gradient finite differences give, with one local derivative per input')
def check_operations(copy):
    mg = copy.load()
    require(mg, 'Value')
    notes = []
    for name in operations(mg):
        try:
            check_operation(mg, name)
        except NotChecked as why:
            notes.append(f'not checked as an operation: {why}')
    return notes


@check('backward', 'backward() adds up the gradient of a value used in several places, and a '
                   'leaf\'s own gradient is 1')
def check_backward(copy):
    mg = copy.load()
    require(mg, 'Value')
    Value = mg.Value

    def branching(a, b):
        c = a * b  # c feeds four places, a three
        return c * c + c.exp() + (c + a).log() + a / (c + 3) + a * 2
    a, b = gradient_errors(mg, branching, [0.7, 1.1], 'a value used in several places')
    a = Value(3.0)
    a.backward()
    if a.grad != 1:
        raise Failed(f'backward() from a leaf gives it grad {a.grad!r}, not 1')
    gradient_errors(mg, lambda a: a * a + a + a, [0.3], 'the same node twice in one operation')
    return []


@check('blocks', 'linear, softmax and rmsnorm give the gradient finite differences give for '
                 'every input, and softmax gives probabilities, even for large logits')
def check_blocks(copy):
    mg = copy.load()
    require(mg, 'Value', 'softmax')
    rng = random.Random(1)
    if hasattr(mg, 'linear'):
        n_in, n_out = 5, 3
        xs = [rng.uniform(-1, 1) for _ in range(n_in + n_in * n_out)]

        def f(*v):
            rows = [list(v[n_in + r * n_in:n_in + (r + 1) * n_in]) for r in range(n_out)]
            return weighted_sum(mg.linear(list(v[:n_in]), rows), 0)
        gradient_errors(mg, f, xs, 'linear')
    blocks = [('softmax', [0.3, -1.2, 2.5, 0.0, 1.1, -0.4])]
    if hasattr(mg, 'rmsnorm'):
        blocks.append(('rmsnorm', [0.5, -1.5, 0.25, 2.0, -0.75, 1.0, 0.1]))
    for name, xs in blocks:
        block = getattr(mg, name)
        gradient_errors(mg, lambda *v: weighted_sum(block(list(v)), 2), xs, name)
    for logits in ([0.3, -1.2, 2.5, 0.0], [1000.0, 1000.0, 990.0]):
        probs = [p.data for p in mg.softmax([mg.Value(x) for x in logits])]
        if not (all(p >= 0 for p in probs) and abs(sum(probs) - 1) < 1e-12):
            raise Failed(f'softmax({logits}) gives {probs}: not probabilities that sum to 1')
    return []


def loss_after_moving(model, name, scale, docs):
    """The summed loss over docs with every weight of a matrix moved by a random amount."""
    rng = random.Random(3)
    cells = model.cells(name)
    start = [model.get(name, r, c) for r, c in cells]
    for (r, c), x in zip(cells, start):
        model.set(name, r, c, x + rng.gauss(0, scale))
    moved = sum(value_of(model.mg.document_loss(doc)) for doc in docs)
    for (r, c), x in zip(cells, start):
        model.set(name, r, c, x)
    return moved


@check('every matrix trained', 'a gradient reaches every matrix the optimizer trains; a matrix '
                               'left in params that the model never reads is named')
def check_every_matrix_trained(copy):
    mg = copy.load(**copy.narrow(num_steps=2))
    require(mg, 'state_dict')
    run_main(mg, sample=False)  # a few steps first: LoRA's A gets a gradient once B has moved
    docs = mg.docs[:8]
    with no_cycle_collector():
        model = Model(mg, None)
        model.clear()
        total = {name: [[0.0] * len(row) for row in mat] for name, mat in mg.state_dict.items()}
        for doc in docs:  # gradients add up over the documents
            model.loss_fn = lambda doc=doc: mg.document_loss(doc)
            for name, grad in model.gradients().items():
                for r, row in enumerate(grad):
                    for c, g in enumerate(row):
                        total[name][r][c] += abs(g)
        never = [name for name in trained_matrices(mg)
                 if all(g == 0 for row in total[name] for g in row)]
        before = sum(value_of(mg.document_loss(doc)) for doc in docs)
        unused = [name for name in never if loss_after_moving(model, name, 1.0, docs) == before]
    used = [name for name in never if name not in unused]
    if used:
        raise Failed(f'no gradient reaches {", ".join(used)} in {len(docs)} documents after 2 '
                     f'steps, though it is in params and the model reads it (moving it changes '
                     f'the loss): it is never trained')
    return [f'{name} is in params, but the model never reads it (moving it changes no loss): '
            f'leave it out of state_dict' for name in unused]


@check('a training step', 'each step starts backward() with every gradient at 0, and keeps no '
                          "step's graph alive after it (CPython's cycle collector paused)")
def check_a_training_step(copy):
    mg = copy.load(**copy.narrow(num_steps=4))
    require(mg, 'Value', 'params')
    Value, real_backward, seen = mg.Value, mg.Value.backward, []

    def backward(self, *args, **kwargs):
        held = sum(p.grad != 0 for p in mg.params)
        alive = sum(type(o) is Value for o in gc.get_objects())
        seen.append((held, alive - graph_size(self)))
        return real_backward(self, *args, **kwargs)
    Value.backward = backward
    try:
        run_main(mg, sample=False)
    finally:
        Value.backward = real_backward
    if len(seen) < 4:
        raise NotChecked(f'its training loop called backward() {len(seen)} times in 4 steps')
    held = max(h for h, _ in seen[1:])
    if held:
        raise Failed(f'{held} weights still hold the last step\'s gradient when backward() runs: '
                     f'clear .grad once used (backward() adds into it)')
    grown = seen[-1][1] - seen[0][1]
    if grown > 1000:
        raise Failed(f'{grown:,} more graph nodes are alive at step 4 than at step 1: something '
                     f'keeps each step\'s graph, so memory grows every step. A function nested in '
                     f'backward() that calls itself is a reference cycle that does this, and so '
                     f'is a list that keeps every loss')
    return []


def graph_size(loss):
    seen, stack = set(), [loss]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node._children)
    return len(seen)


@check('gradients', "every matrix's gradient through a document's loss (4 positions, so the KV "
                    'cache, and two layers) is what finite differences give: its largest and a '
                    'zero one at the first weights, then all its weights at once along a random '
                    'direction at weights drawn afresh')
def check_gradients(copy):
    mg = copy.load(**copy.narrow(**({'n_layer': 2} if copy.has('n_layer') else {})))
    require(mg, 'state_dict')
    doc = short_doc(mg)
    model = Model(mg, lambda: mg.document_loss(doc))
    with no_cycle_collector():
        check_weights(model, picks=0)
        fresh_weights(model)
        check_directions(model)
    return []


def last_position_loss(mg, doc):
    """The loss at the last position alone: earlier positions reach it through the cache only."""
    tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in doc] + [mg.BOS]
    keys, values = empty_cache(mg)
    for pos_id in range(len(tokens) - 1):
        logits = mg.gpt(tokens[pos_id], pos_id, keys, values)
    return -mg.softmax(logits)[tokens[-1]].log()


@check('kv cache', "the loss at a document's last position trains the weights that made the "
                   "earlier positions' keys and values: through the cache, as finite differences "
                   'say')
def check_kv_cache(copy):
    mg = copy.load(**copy.narrow())
    require(mg, 'Value', 'gpt', 'state_dict')
    doc = short_doc(mg, 5)
    loss_fn = lambda: last_position_loss(mg, doc)
    model = Model(mg, loss_fn)
    with no_cycle_collector():
        check_weights(model)
        # no learned positions (rotary ones, say), or a wpe left in state_dict that the model
        # never reads ('every matrix trained' names it): no wpe[0] to follow
        if ('wpe' not in mg.state_dict
                or loss_after_moving(model, 'wpe', 1.0, [doc]) == value_of(mg.document_loss(doc))):
            return []
        # wpe[0] is read at position 0 only, whose own prediction is not in this loss: its gradient
        # can only come back through the key and value position 0 left in the cache
        grads = model.gradients()['wpe'][0]
        if all(g == 0 for g in grads):
            raise Failed('no gradient reaches wpe[0] from the last position: the keys and values '
                         'in the cache are cut off from the graph')
        for c in range(0, len(grads), 4):
            close(grads[c], finite_difference(model, 'wpe', 0, c), f'wpe[0][{c}]')
    return []


@check('loss', "a document's loss is the mean of its positions' cross-entropy (from gpt's logits), "
               'and a fresh model starts near uniform guessing')
def check_loss(copy):
    mg = copy.load(**copy.narrow())
    with no_cycle_collector():
        losses = [value_of(mg.document_loss(doc)) for doc in mg.docs[:10]]
        mean, uniform = sum(losses) / len(losses), math.log(len(mg.uchars) + 1)
        if abs(mean - uniform) > 0.2:
            raise Failed(f'a fresh model loses {mean:.3f} on average on the first 10 documents, '
                         f'not about ln {len(mg.uchars) + 1} = {uniform:.3f} (uniform guessing)')
        if not hasattr(mg, 'gpt') or not hasattr(mg, 'Value'):
            return []
        doc = mg.docs[3]
        tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in doc] + [mg.BOS]
        keys, values = empty_cache(mg)
        position_losses = []
        for pos_id in range(min(len(tokens) - 1, getattr(mg, 'block_size', len(tokens)))):
            logits = [value_of(l) for l in mg.gpt(tokens[pos_id], pos_id, keys, values)]
            top = max(logits)
            log_total = math.log(sum(math.exp(l - top) for l in logits)) + top
            position_losses.append(log_total - logits[tokens[pos_id + 1]])
        expected = sum(position_losses) / len(position_losses)
        got = value_of(mg.document_loss(doc))
        if abs(got - expected) > 1e-12 * abs(expected) + 1e-15:
            raise Failed(f'document_loss({doc!r}) is {got!r}; the mean cross-entropy of its '
                         f'positions, from gpt\'s logits, is {expected!r}')
    return []


def small_dataset():
    os.makedirs('small', exist_ok=True)
    with open(os.path.join('small', 'input.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(SMALL) + '\n')
    return 'small'


@check('trains', 'its own training loop, 20 steps on 7 short names, lowers their loss')
def check_trains(copy):
    folder = small_dataset()
    mg = copy.load(cwd=folder, **copy.narrow(num_steps=20))
    docs = mg.docs[:len(SMALL)]  # (a copy that reads its data from elsewhere has more)
    mean_loss = lambda: sum(value_of(mg.document_loss(doc)) for doc in docs) / len(docs)
    with no_cycle_collector():
        before = mean_loss()
        run_main(mg, cwd=folder, sample=False)
        after = mean_loss()
    # not by how much: Adam takes microgpt.py down by about 1, plain gradient descent takes the MLP
    # of train1 and train2 down by about 0.0002; a sign slip takes it up, no update leaves it
    if not after < before - 1e-5:
        raise Failed(f'20 training steps take the loss on {len(docs)} short names from '
                     f'{before:.4f} to {after:.4f}: training does not lower it')
    return []


def fixed_logits(mg, favourite, positions):
    """A stand-in for gpt that all but insists on token favourite(pos_id), whatever came before."""
    def gpt(token_id, pos_id, keys, values):
        positions.append(pos_id)
        return [mg.Value(20.0 if t == favourite(pos_id) else 0.0)
                for t in range(len(mg.uchars) + 1)]
    return gpt


def names_drawn(mg, draws):
    """The samples, from the tokens random.choices drew: a sample ends at BOS or at block_size."""
    names, name = [], []
    limit = getattr(mg, 'block_size', None)
    for _, _, drawn in draws:
        token = drawn[0]
        if token == mg.BOS:
            names.append(name)
            name = []
        else:
            name.append(token)
            if limit and len(name) == limit:
                names.append(name)
                name = []
    return names + ([name] if name else [])


@check('samples', 'its own sampling loop draws each token from probabilities over the vocabulary, '
                  'starts each sample at position 0, stops at BOS and after block_size tokens, '
                  'and does not draw the same name every time')
def check_samples(copy):
    mg = copy.load(**copy.narrow(num_steps=0))
    _, draws = run_main(mg)
    if not draws:
        raise NotChecked('its sampling drew nothing with random.choices: the check reads the '
                         'samples from those draws')
    for population, weights, drawn in draws:
        if (len(population) != len(mg.uchars) + 1 or weights is None
                or len(weights) != len(population) or any(not w >= 0 for w in weights)
                or not sum(weights) > 0):
            raise Failed(f'it draws a token from {len(population)} tokens with weights {weights}: '
                         f'not probabilities over the {len(mg.uchars) + 1} tokens')
    names = names_drawn(mg, draws)
    if len(set(tuple(n) for n in names)) < 3:
        raise Failed(f'its {len(names)} samples are nearly all the same: {names[:5]}')
    if not hasattr(mg, 'gpt') or not hasattr(mg, 'Value'):
        return []
    for favourite, length in [(lambda pos: mg.BOS if pos == 3 else 0, 3),
                              (lambda pos: 1, mg.block_size)]:
        mg = copy.load(num_steps=0)
        positions = []
        mg.gpt = fixed_logits(mg, favourite, positions)
        _, draws = run_main(mg)
        per_sample = length + 1 if length < mg.block_size else length
        expected = list(range(per_sample)) * (len(positions) // per_sample)
        if not positions or positions != expected:
            raise Failed(f'with a model that says BOS at position 3, or never, sampling asks gpt '
                         f'for the positions {positions[:2 * per_sample]}...: each sample should '
                         f'start at 0 and stop at BOS or after block_size ({mg.block_size})')
    return []


@check('settings', 'other settings build a model and train it a step, every layer: 4 layers, and '
                   'block_size 24 on a 30-character name')
def check_settings(copy):
    tried = []
    for settings, doc in [(copy.narrow(n_layer=4), 'abcdefgh'),
                          (copy.narrow(block_size=24), 'abcdefghij' * 3)]:
        try:
            copy.source(**settings)
        except NotChecked:
            continue
        os.makedirs('wide', exist_ok=True)
        with open(os.path.join('wide', 'input.txt'), 'w', encoding='utf-8') as f:
            f.write(doc + '\n')
        mg = copy.load(cwd='wide', num_steps=1, **settings)
        require(mg, 'state_dict')
        before = {name: [Model(mg, None).get(name, r, c) for r, c in Model(mg, None).cells(name)]
                  for name in mg.state_dict}
        run_main(mg, cwd='wide', sample=False)
        moved = [name for name in trained_matrices(mg)
                 if [Model(mg, None).get(name, r, c) for r, c in Model(mg, None).cells(name)]
                 != before[name]]
        for li in range(getattr(mg, 'n_layer', 0)):
            if not any(name.startswith(f'layer{li}.') for name in moved):
                raise Failed(f'with {settings}, no weight of layer {li} moved in a training step')
        if not moved:
            raise Failed(f'with {settings}, no weight moved in a training step')
        tried.append(settings)
    if not tried:
        raise NotChecked('it has no n_layer, block_size or n_embd lines to set')
    return []


@check('same seed', 'two runs with the same seed train the same weights and draw the same samples')
def check_same_seed(copy):
    runs = []
    for _ in range(2):
        mg = copy.load(**copy.narrow(num_steps=1, **({'block_size': 4} if copy.has('block_size')
                                                     else {})))
        _, draws = run_main(mg)
        weights = [Model(mg, None).get(name, r, c) for name in getattr(mg, 'state_dict', {})
                   for r, c in Model(mg, None).cells(name)] if hasattr(mg, 'state_dict') else []
        runs.append((weights, [drawn for _, _, drawn in draws]))
    if runs[0] != runs[1]:
        raise Failed('two runs from the same seed differ: something random is not drawn from '
                     'the seeded `random` (random.Random(), os.urandom, a set of objects?)')
    return []


@check('script', 'it runs as `python copy.py` runs it (2 steps, n_embd 8, block_size 4), training '
                 'and sampling, and exits without an error')
def check_script(copy):
    path = os.path.join('script', copy.name)
    os.makedirs('script', exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(copy.source(**copy.narrow(num_steps=2, **({'block_size': 4}
                                                           if copy.has('block_size') else {}))))
    with open('input.txt', 'rb') as f, open(os.path.join('script', 'input.txt'), 'wb') as g:
        g.write(f.read())
    env = dict(os.environ, PYTHONIOENCODING='utf-8')
    result = subprocess.run([sys.executable, '-c', NO_NETWORK_RUN, copy.name], cwd='script',
                            env=env, capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        err = result.stderr.decode('utf-8', 'replace').strip().splitlines()
        raise Failed(f'`python {copy.name}` (2 steps) stopped with an error: '
                     f'{err[-1] if err else result.returncode}')
    return []


# --- Running a copy's checks ---

NETWORK_MESSAGE = ('the copy tried the network, which the check does not allow: it looked for '
                   'its data somewhere other than input.txt in its own folder, where the check '
                   'puts the names')


def no_network():
    """A copy that downloads (its input.txt not found) fails, saying so, and never waits."""
    def refuse(*args, **kwargs):
        raise OSError(NETWORK_MESSAGE)
    socket.socket.connect = refuse
    socket.create_connection = refuse
    socket.getaddrinfo = refuse


NO_NETWORK_RUN = f'''
import runpy, socket, sys
def refuse(*args, **kwargs):
    raise OSError({NETWORK_MESSAGE!r})
socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name='__main__')
'''


def run_checks(path):
    """Every check on the copy at path, from the current folder (which holds its input.txt): a list
    of {check, result: passed / failed / not checked, words, notes, seconds}, up to the first
    failure."""
    no_network()
    copy, results = Copy(path), []
    for name, _, function in CHECKS:
        start = time.perf_counter()
        entry = {'check': name, 'notes': []}
        try:
            entry['notes'] = function(copy) or []
            entry['result'] = 'passed'
        except NotChecked as why:
            entry.update(result='not checked', words=str(why))
        except Failed as failure:
            entry.update(result='failed', words=str(failure))
        except RecursionError:
            entry.update(result='failed', words="RecursionError: the graph is deeper than "
                                                "Python's recursion limit lets backward() sort it")
        except Exception as error:  # the copy itself raised: that is its failure, in its words
            words = f'{type(error).__name__}: {error}'
            entry.update(result='failed', words=(words if NETWORK_MESSAGE not in words
                                                 else NETWORK_MESSAGE))
        entry['seconds'] = round(time.perf_counter() - start, 2)
        results.append(entry)
        if entry['result'] == 'failed':
            break  # the first failure is the one to mend: the rest would only take time
    return results


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    results = run_checks(sys.argv[1])
    with open(sys.argv[2], 'w', encoding='utf-8') as f:
        json.dump(results, f)
