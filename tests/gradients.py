"""A model's gradients against finite differences of its loss, whoever works them out: backward() in
a file with autograd, or the file itself in train1, which writes the chain rule out by hand.

tests/test_model.py checks the file under test this way; tests/test_ladder.py checks every rung.
"""
import random

from conftest import H, assert_close, no_cycle_collector


class ByAutograd:
    """loss_fn() gives a Value; one backward() fills every weight's .grad."""
    source = 'backward()'

    def __init__(self, mg, loss_fn):
        self.mg, self.loss_fn = mg, loss_fn

    def loss(self):
        return self.loss_fn().data

    def gradients(self):
        """{matrix name: its gradient, row by row}, from one backward(); .grad is cleared after."""
        self.clear()
        with no_cycle_collector():
            self.loss_fn().backward()
        grads = {name: [[p.grad for p in row] for row in mat]
                 for name, mat in self.mg.state_dict.items()}
        self.clear()
        return grads

    def clear(self):
        """Every weight's .grad to 0: those in params, and the frozen ones left out of it (LoRA's
        base weights, say), which still get a gradient in every backward() and which no optimizer
        clears."""
        for p in getattr(self.mg, 'params', []):
            p.grad = 0
        for mat in self.mg.state_dict.values():
            for row in mat:
                for p in row:
                    p.grad = 0

    def get(self, name, r, c):
        return self.mg.state_dict[name][r][c].data

    def set(self, name, r, c, x):
        self.mg.state_dict[name][r][c].data = x


class ByHand(ByAutograd):
    """loss_fn() gives the loss and the gradients the file worked out itself (train1's
    document_loss)."""
    source = 'by hand'

    def loss(self):
        return self.loss_fn()[0]

    def gradients(self):
        return self.loss_fn()[1]

    def clear(self):
        pass

    def get(self, name, r, c):
        return self.mg.state_dict[name][r][c]

    def set(self, name, r, c, x):
        self.mg.state_dict[name][r][c] = x


def finite_difference(model, name, r, c):
    """d loss / d weight by central differences, leaving the weight as it was."""
    x = model.get(name, r, c)
    model.set(name, r, c, x + H)
    up = model.loss()
    model.set(name, r, c, x - H)
    down = model.loss()
    model.set(name, r, c, x)
    return (up - down) / (2 * H)


def check_weights(model, picks_per_matrix, seed=0, skip=()):
    """Work out the gradient once, then compare some weights of every matrix in state_dict with
    finite differences of the loss: the weight with the largest gradient, `picks_per_matrix` drawn
    at random among those with a gradient, and one drawn among those without: finite differences
    must find 0 there as well (an expert a router did not choose, a token not in the document,
    LoRA's A while B is 0). Returns how many of the compared gradients were not zero."""
    with no_cycle_collector():
        grads = model.gradients()
        rng = random.Random(seed)
        nonzero, wrong, right = 0, [], []
        for name, grad in grads.items():
            if name.startswith(skip):
                continue
            cells = [(r, c) for r in range(len(grad)) for c in range(len(grad[0]))]
            moved = [(r, c) for r, c in cells if grad[r][c] != 0]
            still = [(r, c) for r, c in cells if grad[r][c] == 0]
            picks = {max(cells, key=lambda rc: abs(grad[rc[0]][rc[1]]))}
            picks |= set(rng.sample(moved, min(picks_per_matrix, len(moved))))
            picks |= set(rng.sample(still, min(1, len(still))))
            try:
                for r, c in sorted(picks):
                    assert_close(grad[r][c], finite_difference(model, name, r, c),
                                 f'{name}[{r}][{c}]', model.source)
                    nonzero += grad[r][c] != 0
                right.append(name)
            except AssertionError as error:
                wrong.append(str(error).split('\n')[0])
    # every matrix is checked before failing: where the gradients turn wrong, between the right ones
    # and the wrong ones, is where to look
    assert not wrong, '\n'.join(wrong + [f'right: {", ".join(right) or "none"}'])
    return nonzero


def check_directions(model, seed=0):
    """For each matrix, move all its weights at once along a random direction and compare the change
    in the loss with the one the gradient predicts (the sum of each weight's gradient times its
    share of the move). Two forward passes a matrix, and a wrong gradient at any weight of it shows,
    where check_weights looks at a few weights only."""
    with no_cycle_collector():
        grads = model.gradients()
        rng = random.Random(seed)
        for name, grad in grads.items():
            cells = [(r, c) for r in range(len(grad)) for c in range(len(grad[0]))]
            direction = [rng.gauss(0, 1) for _ in cells]
            norm = sum(d * d for d in direction) ** 0.5
            # a unit step: the same error bounds as one weight's
            direction = [d / norm for d in direction]
            start = [model.get(name, r, c) for r, c in cells]
            moved = []
            for sign in (1, -1):
                for (r, c), x, d in zip(cells, start, direction):
                    model.set(name, r, c, x + sign * H * d)
                moved.append(model.loss())
            for (r, c), x in zip(cells, start):
                model.set(name, r, c, x)
            predicted = sum(grad[r][c] * d for (r, c), d in zip(cells, direction))
            assert_close(predicted, (moved[0] - moved[1]) / (2 * H),
                         f'{name}, all its weights moved at once along a random direction',
                         model.source)


def fresh_weights(model, seed=7):
    """Every weight drawn afresh, those the file starts at 0 too (LoRA's B, say)."""
    rng = random.Random(seed)
    for name, mat in model.mg.state_dict.items():
        for r, row in enumerate(mat):
            for c in range(len(row)):
                model.set(name, r, c, rng.gauss(0, 0.08))
