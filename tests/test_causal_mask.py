"""The KV cache against the causal mask. microgpt.py reads a document a token at a time, each
position attending over the keys and values cached so far. A real GPT trains every position at
once: it computes every position's query, key and value first, then lets each position attend over
all of them, with the scores of later positions set to -infinity before the softmax (the causal
mask), so that their weights are exactly 0. Both must give one document the same loss and every
weight the same gradient. The masked version is written out below from microgpt.py's own Value,
linear, softmax, rmsnorm and state_dict; only gpt() and document_loss() are not used."""
import math

import pytest

from conftest import load

DOC = 'olivia'  # 7 positions: BOS o l i v i a, each predicting the next token

# The tolerance. The loss comes out bit for bit the same, and is asserted so: both versions do
# the same operations on the same numbers in the same order (each sum left to right, over positions
# 0, 1, ...); the masked one only adds terms that are exactly 0 (exp(-inf) in the softmax's total,
# then 0 * value in the mix), and x + 0.0 is x exactly. The gradients are the same products, but
# added in a different order: backward() adds them into each .grad in the order of its sort, and
# the two are different graphs (made in another order, and the masked one has a node for each
# masked score), so they sort differently. Floating-point addition rounds differently in another
# order, by about 1e-16 of the sum each time, so the gradients may differ by rounding and nothing
# else: measured, at most 3.2e-16 of the matrix's largest gradient (one layer or two), in 50 of
# 4,192 weights (one layer). RTOL = 1e-12 allows thousands of such roundings, relative to the
# gradient, or to its matrix's largest for one that cancels to near 0. A real mistake is far
# bigger: a position that sees the next one moves the loss by 2.4e-3 (the second test), and cutting
# the gradient's path through the earlier positions' keys moves wte's gradients by 2e-4 and more.
RTOL = 1e-12


def masked_loss(mg, doc, see_ahead=0):
    """The document's loss with every position computed at once under a causal mask: position t
    attends over positions 0..t. see_ahead=1 plants a mistake: position t also sees t + 1."""
    sd, hd, minus_inf = mg.state_dict, mg.head_dim, mg.Value(-math.inf)
    tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in doc] + [mg.BOS]
    n = min(mg.block_size, len(tokens) - 1)
    xs = [mg.rmsnorm([t + p for t, p in zip(sd['wte'][tokens[pos]], sd['wpe'][pos])])
          for pos in range(n)]
    for li in range(mg.n_layer):
        # attention: every position's q, k and v first, then each position's mix of the values
        residuals = xs
        normed = [mg.rmsnorm(x) for x in xs]
        qs = [mg.linear(x, sd[f'layer{li}.attn_wq']) for x in normed]
        ks = [mg.linear(x, sd[f'layer{li}.attn_wk']) for x in normed]
        vs = [mg.linear(x, sd[f'layer{li}.attn_wv']) for x in normed]
        xs = []
        for t in range(n):
            x_attn = []
            for h in range(mg.n_head):
                part = slice(h * hd, h * hd + hd)
                # the causal mask: the score of a later position is -infinity, so its weight is 0
                scores = [sum(a * b for a, b in zip(qs[t][part], ks[s][part])) / hd ** 0.5
                          if s <= t + see_ahead else minus_inf for s in range(n)]
                weights = mg.softmax(scores)
                x_attn.extend(sum(w * vs[s][part][j] for s, w in enumerate(weights))
                              for j in range(hd))
            x = mg.linear(x_attn, sd[f'layer{li}.attn_wo'])
            xs.append([a + b for a, b in zip(x, residuals[t])])
        # MLP: each position on its own, as in gpt()
        residuals = xs
        xs = []
        for x_residual in residuals:
            x = mg.linear(mg.rmsnorm(x_residual), sd[f'layer{li}.mlp_fc1'])
            x = mg.linear([xi.relu() for xi in x], sd[f'layer{li}.mlp_fc2'])
            xs.append([a + b for a, b in zip(x, x_residual)])
    losses = [-mg.softmax(mg.linear(x, sd['lm_head']))[tokens[pos + 1]].log()
              for pos, x in enumerate(xs)]
    return (1 / n) * sum(losses)


def loss_and_gradients(mg, loss):
    """The loss as a number and each matrix's gradient, read then cleared for the next loss."""
    loss.backward()
    grads = {name: [[w.grad for w in row] for row in mat] for name, mat in mg.state_dict.items()}
    for w in mg.params:
        w.grad = 0
    return loss.data, grads


@pytest.mark.reference  # the masked version is the shipped model's: an edit to gpt() changes it
@pytest.mark.parametrize('n_layer', [1, 2])
def test_the_cache_gives_what_a_causal_mask_gives(n_layer):
    mg = load(n_layer=n_layer)
    cached_loss, cached = loss_and_gradients(mg, mg.document_loss(DOC))
    masked_loss_, masked = loss_and_gradients(mg, masked_loss(mg, DOC))
    assert masked_loss_ == cached_loss
    for name, mat in cached.items():
        scale = max(abs(g) for row in mat for g in row)
        assert scale > 0, f'no gradient reaches {name}'
        for i, (row, masked_row) in enumerate(zip(mat, masked[name])):
            for j, (g, masked_g) in enumerate(zip(row, masked_row)):
                assert masked_g == pytest.approx(g, rel=RTOL, abs=RTOL * scale), \
                    f'{name}[{i}][{j}]: the cache gives {g!r}, the causal mask {masked_g!r}'


@pytest.mark.reference
def test_a_position_that_sees_the_next_one_changes_the_loss():
    # the test above has teeth: a mask that lets each position see the next one fails it
    mg = load()
    cached_loss = mg.document_loss(DOC).data
    assert abs(masked_loss(mg, DOC, see_ahead=1).data - cached_loss) > 1e-6
