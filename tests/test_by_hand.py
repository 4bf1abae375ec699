"""progression/by_hand.py: microgpt.py's model, every gradient worked out by hand in plain floats.

With two layers and a document of four positions (so that the stack and the cache both matter), its
gradients equal autograd's (microgpt.py's backward(), the same weights) and finite differences; a
wrong derivative planted in any of its backward functions fails, naming the matrix; and a short run
prints microgpt.py's bytes.
"""
import re

import pytest

from checks import Model, check_directions, check_weights, fresh_weights, wrong_matrices
from conftest import ROOT, load, short_cell

BY_HAND = ROOT / 'progression' / 'by_hand.py'
MICROGPT = ROOT / 'microgpt.py'
# Gradients summed in another order than backward()'s differ by rounding: about 1e-16 relative per
# addition, relative to the sizes being added, which a matrix's largest gradient bounds here. A
# gradient sums a few thousand products (4 positions, 2 layers, 4 heads), so rounding stays under
# 1e-13 of that size (measured: 9e-16). 1e-12 of it leaves room for that, and for nothing else: a
# wrong derivative is off by a large fraction of the gradient.
ROUNDING = 1e-12


def four_positions(mg):
    return next(doc for doc in mg.docs if len(doc) == 3)  # BOS and 3 letters: 4 predictions


@pytest.mark.reference
def test_loss_and_every_gradient_equal_autograds():
    autograd = load(path=MICROGPT, n_layer=2)
    by_hand = load(path=BY_HAND, n_layer=2)
    doc = four_positions(autograd)
    expected = Model(autograd, lambda: autograd.document_loss(doc)).gradients()
    loss, grads = by_hand.document_loss(doc)
    assert loss == autograd.document_loss(doc).data  # the forward pass: the same bits
    assert list(grads) == list(expected)
    wrong, right = [], []  # every matrix, before failing: the slip is between the two lists
    for name, want in expected.items():
        size = max(abs(g) for row in want for g in row)
        off, r, c, g, w = max((abs(a - b), r, c, a, b)
                              for r, (row, want_row) in enumerate(zip(grads[name], want))
                              for c, (a, b) in enumerate(zip(row, want_row)))
        if off <= ROUNDING * size:
            right.append(name)
        else:
            wrong.append(f'{name}[{r}][{c}]: by hand gives {g!r}, backward() {w!r}')
    assert not wrong, '\n'.join(wrong + [f'right: {", ".join(right) or "none"}'])


def test_every_gradient_against_finite_differences():
    by_hand = load(path=BY_HAND, n_layer=2, n_embd=8)
    doc = four_positions(by_hand)
    model = Model(by_hand, lambda: by_hand.document_loss(doc))
    check_weights(model, picks=1)
    fresh_weights(model)
    check_directions(model)


def test_an_import_trains_nothing():
    assert 'step' not in load(path=BY_HAND).import_output


# a slip in a backward function: (what it changes, what it becomes, the matrix the check names)
WRONG_DERIVATIVES = {
    "linear_backward: a weight's gradient without the gradient from above": (
        'd_row[j] += d * xj', 'd_row[j] += xj', 'lm_head'),
    "the loss's softmax: the mean's 1 / n forgotten": (
        '(p - (i == target_id)) / n', 'p - (i == target_id)', 'lm_head'),
    "the attention's softmax: the shared total forgotten, dz = p * dp": (
        'p * (d - mean) for', 'p * d for', 'layer1.attn_wq'),
    'the attention over the cache: a key trained by its own position only': (
        'd_keys[li][t][j] += dl * q[j]', 'd_keys[li][t][j] += dl * q[j] * (t == pos_id)',
        'layer1.attn_wk'),
    "rmsnorm: its scale taken for a constant, dx = scale * dy": (
        'scale * (d - xi * mean_dy_x * scale ** 2)', 'scale * d', 'layer1.attn_wo'),
    'relu passes every gradient back': ('d * (out > 0)', 'd', 'layer1.mlp_fc1'),
    "the residual: the gradient does not pass through": (
        'd_x = [a + b for a, b in zip(d_x, rmsnorm_backward(d_norm, mlp_in))]',
        'd_x = rmsnorm_backward(d_norm, mlp_in)', 'layer1.attn_wo'),
    "the embeddings: the position's row gets no gradient": (
        "grads['wpe'][pos_id][j] += d", "grads['wpe'][pos_id][j] += 0", 'wpe'),
}


@pytest.mark.parametrize('slip', WRONG_DERIVATIVES)
def test_a_wrong_derivative_planted_in_by_hand_fails_by_name(slip, tmp_path):
    old, new, name = WRONG_DERIVATIVES[slip]
    text = BY_HAND.read_text(encoding='utf-8')
    assert text.count(old) == 1, f'by_hand.py holds {old!r} {text.count(old)} times, not once'
    planted = tmp_path / 'by_hand.py'
    planted.write_text(text.replace(old, new), encoding='utf-8')
    mg = load(path=planted, n_layer=2, n_embd=8)
    doc = four_positions(mg)
    with pytest.raises(AssertionError) as failure:
        check_weights(Model(mg, lambda: mg.document_loss(doc)), picks=1)
    assert wrong_matrices(failure.value) and name in wrong_matrices(failure.value), failure.value


@pytest.mark.reference
def test_a_short_run_prints_the_bytes_microgpt_prints():
    # one step and samples of a token, half the width, as a notebook cell runs each file (every
    # other interpreter the suite finds compares the same: tests/test_interpreters.py)
    printed = short_cell('microgpt.py')
    assert 'sample 20: ' in printed and short_cell('progression/by_hand.py') == printed
