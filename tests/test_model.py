"""The whole model: one backward() through a real document's loss, against finite differences."""
import math
import random

import pytest

from conftest import H, assert_close, load, no_cycle_collector, same, train_steps


def finite_difference(p, loss_fn):
    """d loss_fn() / d p by central differences, leaving p as it was."""
    x = p.data
    p.data = x + H
    up = loss_fn().data
    p.data = x - H
    down = loss_fn().data
    p.data = x
    return (up - down) / (2 * H)


def check_weights(mg, loss_fn, picks_per_matrix, seed=0):
    with no_cycle_collector():
        return _check_weights(mg, loss_fn, picks_per_matrix, seed)


def _check_weights(mg, loss_fn, picks_per_matrix, seed):
    """Differentiate loss_fn() with one backward(), then compare the gradient of some weights of every
    matrix in state_dict with finite differences of loss_fn: the weight with the largest gradient and a
    few drawn at random. Returns how many of the compared gradients are not zero."""
    for p in mg.params:
        p.grad = 0
    loss_fn().backward()
    rng = random.Random(seed)
    nonzero = 0
    for name, mat in mg.state_dict.items():
        cells = [(r, c) for r in range(len(mat)) for c in range(len(mat[0]))]
        picks = {max(cells, key=lambda rc: abs(mat[rc[0]][rc[1]].grad))} | set(rng.sample(cells, picks_per_matrix))
        for r, c in sorted(picks):
            p = mat[r][c]
            assert_close(p.grad, finite_difference(p, loss_fn), f'{name}[{r}][{c}]')
            nonzero += p.grad != 0
        assert any(p.grad != 0 for row in mat for p in row), f'no gradient reaches {name}'
    for p in mg.params:
        p.grad = 0
    return nonzero


@pytest.fixture(scope='module')
def mg():
    return load()


def test_document_loss_gradients_reach_every_matrix(mg):
    doc = next(doc for doc in mg.docs if len(doc) == 5)  # six positions: enough to cross the cache
    assert check_weights(mg, lambda: mg.document_loss(doc), picks_per_matrix=1) >= 12


def test_two_layers():
    mg = load(n_layer=2)
    assert {'layer1.attn_wq', 'layer1.mlp_fc2'} <= set(mg.state_dict)
    doc = next(doc for doc in mg.docs if len(doc) == 4)  # short: two layers cost twice as much
    assert check_weights(mg, lambda: mg.document_loss(doc), picks_per_matrix=0) >= 12


def last_position_loss(mg, doc):
    """The loss at the last position only: the earlier positions' weights reach it through the KV cache alone."""
    tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in doc] + [mg.BOS]
    keys, values = [[] for _ in range(mg.n_layer)], [[] for _ in range(mg.n_layer)]
    for pos_id in range(len(tokens) - 1):
        logits = mg.gpt(tokens[pos_id], pos_id, keys, values)
    return -mg.softmax(logits)[tokens[-1]].log()


def test_gradients_flow_back_to_earlier_positions_through_the_kv_cache(mg):
    doc = next(doc for doc in mg.docs if len(doc) == 5)
    loss_fn = lambda: last_position_loss(mg, doc)
    assert check_weights(mg, loss_fn, picks_per_matrix=0) >= 8
    if 'wpe' not in mg.state_dict:
        return  # a model without learned positions (rotary ones, say) has no wpe[0] to follow
    # wpe[0] is used at position 0 only, whose own prediction is not in this loss: its gradient can only
    # come back through the keys and values that position 0 left in the cache
    with no_cycle_collector():
        loss_fn().backward()
        first_position = mg.state_dict['wpe'][0]
        assert all(p.grad != 0 for p in first_position)
        for c, p in list(enumerate(first_position))[::4]:
            assert_close(p.grad, finite_difference(p, loss_fn), f'wpe[0][{c}]')
    for p in mg.params:
        p.grad = 0


def test_the_loss_is_the_mean_of_the_position_losses(mg):
    doc = mg.docs[3]
    tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in doc] + [mg.BOS]
    keys, values = [[] for _ in range(mg.n_layer)], [[] for _ in range(mg.n_layer)]
    losses = []
    for pos_id in range(len(tokens) - 1):
        logits = [l.data for l in mg.gpt(tokens[pos_id], pos_id, keys, values)]
        top = max(logits)
        log_total = math.log(sum(math.exp(l - top) for l in logits)) + top
        losses.append(log_total - logits[tokens[pos_id + 1]])
    assert mg.document_loss(doc).data == same(sum(losses) / len(losses))


@no_cycle_collector()
def test_a_fresh_model_starts_near_uniform_guessing(mg):
    losses = [mg.document_loss(doc).data for doc in mg.docs[:10]]
    assert abs(sum(losses) / len(losses) - math.log(mg.vocab_size)) < 0.2


@no_cycle_collector()
def test_the_probabilities_sum_to_one_at_every_position(mg):
    tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in mg.docs[4]]
    keys, values = [[] for _ in range(mg.n_layer)], [[] for _ in range(mg.n_layer)]
    for pos_id, token_id in enumerate(tokens):
        logits = mg.gpt(token_id, pos_id, keys, values)
        assert len(logits) == mg.vocab_size
        probs = [p.data for p in mg.softmax(logits)]
        assert all(p > 0 for p in probs) and sum(probs) == same(1.0)


@pytest.mark.parametrize('hyperparameters, doc', [(dict(n_layer=16), 'abcdefgh'),
                                                  (dict(block_size=40, n_embd=24), 'abcdefghij' * 5)],
                         ids=['16 layers', 'block_size 40, n_embd 24'])
def test_deep_and_wide_models_train_a_step(tmp_path, hyperparameters, doc):
    (tmp_path / 'input.txt').write_text(doc + '\n', encoding='utf-8')
    mg = load(cwd=tmp_path, num_steps=1, **hyperparameters)
    before = {name: [p.data for row in mat for p in row] for name, mat in mg.state_dict.items()}
    train_steps(mg, 1)  # 9 positions through 16 layers, or 40 (the document is cut at block_size)
    for name, mat in mg.state_dict.items():  # every matrix of every layer got a gradient and moved
        assert [p.data for row in mat for p in row] != before[name], name
