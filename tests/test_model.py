"""The whole model: one backward() through a real document's loss, against finite differences."""
import math

import pytest

from conftest import (assert_close, empty_cache, live_nodes, load, needs, no_cycle_collector,
                      require, same, train_steps, trained_matrices)

require('Value', 'state_dict', 'params', 'document_loss')
import gradients  # noqa: E402
from gradients import ByAutograd, check_directions, finite_difference, fresh_weights  # noqa: E402


def check_weights(mg, loss_fn, picks_per_matrix, seed=0, skip=()):
    return gradients.check_weights(ByAutograd(mg, loss_fn), picks_per_matrix, seed, skip)


def clear_gradients(mg):
    ByAutograd(mg, None).clear()


@pytest.fixture(scope='module')
def mg():
    return load()


# First the checks that name a mistake outright, so that a run stopped at its first failure (-x)
# stops soon.

def graph_size(loss):
    seen, stack = set(), [loss]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            stack.extend(node._children)
    return len(seen)


def test_no_step_leaves_its_graph_behind():
    # The script pauses CPython's cycle collector while it trains: then a graph kept alive by a
    # reference cycle, or by a list that keeps every loss, stays in memory, and memory grows each
    # step.
    mg = load()
    with no_cycle_collector():
        train_steps(mg, 1)
        after_1 = live_nodes(mg)
        train_steps(mg, 3)
        after_4 = live_nodes(mg)
        one_step = min(graph_size(mg.document_loss(doc)) for doc in mg.docs[:3])
    grown = after_4 - after_1
    assert grown < one_step / 2, (
        f'{grown:,} more graph nodes are alive after 4 training steps than after 1 (one step '
        f'builds about {one_step:,}): something keeps each step\'s graph, so memory grows every '
        f'step. A function nested in backward() that calls itself is a reference cycle that does '
        f'this, and so is a list that keeps every loss')


def test_every_matrix_in_params_is_trained():
    # A matrix in params that no gradient ever reaches is never trained: a router chosen by argmax,
    # say, or a branch cut off from the loss. Some weights get a gradient only once others have
    # moved (LoRA's A, while its B is still 0), so the file's own train() runs a few steps first.
    mg = load()
    train_steps(mg, 2)
    docs = mg.docs[:8]
    with no_cycle_collector():
        clear_gradients(mg)
        for doc in docs:  # gradients add up over the documents
            mg.document_loss(doc).backward()
        never = [name for name in trained_matrices(mg)
                 if all(p.grad == 0 for row in mg.state_dict[name] for p in row)]
        clear_gradients(mg)
    assert not never, (f'no gradient reaches {", ".join(never)} in {len(docs)} documents after 2 '
                       f'steps, though it is in params: it is never trained')


def test_a_training_step_clears_every_gradient():
    # backward() adds into .grad: a step that does not clear it mixes its gradient into
    # the next step's
    mg = load()
    train_steps(mg, 2)
    kept = sum(p.grad != 0 for p in mg.params)
    assert kept == 0, (f'{kept} weights still hold a gradient after a training step: clear .grad '
                       f'once used')


def test_the_whole_gradient_of_every_matrix_along_a_random_direction():
    # A mistake that changes few gradients (a branch fed a detached copy of its input, say) can hide
    # from the weights check_weights picks; moving every weight of a matrix at once cannot miss it.
    mg = load()
    fresh_weights(ByAutograd(mg, None))
    doc = next(doc for doc in mg.docs if len(doc) == 3)
    check_directions(ByAutograd(mg, lambda: mg.document_loss(doc)))


def test_gradients_match_at_weights_drawn_afresh():
    # Some mistakes hide while a weight is exactly 0: a LoRA branch whose B starts at 0 passes
    # nothing back, so a branch cut off from the graph looks right at the start. So the check runs
    # again with every weight, B's too, drawn afresh.
    mg = load()
    fresh_weights(ByAutograd(mg, None))
    doc = next(doc for doc in mg.docs if len(doc) == 3)  # four positions: enough to cross the cache
    assert check_weights(mg, lambda: mg.document_loss(doc), picks_per_matrix=0) >= 4


def test_document_loss_gradients_against_finite_differences(mg):
    doc = next(doc for doc in mg.docs if len(doc) == 3)  # four positions: enough to cross the cache
    assert (check_weights(mg, lambda: mg.document_loss(doc), picks_per_matrix=0)
            >= min(6, len(mg.state_dict)))


@needs('n_layer')
def test_two_layers():
    mg = load(n_layer=2)
    assert any(name.startswith('layer1.')
               for name in mg.state_dict), 'n_layer = 2 makes no layer1 weights'
    doc = next(doc for doc in mg.docs if len(doc) == 3)  # short: two layers cost twice as much
    # layer 1's own weights (and lm_head) are checked as in a one-layer model: what is new here is
    # the gradient that reaches layer 0 and the embeddings through layer 1
    assert check_weights(mg, lambda: mg.document_loss(doc), picks_per_matrix=0,
                         skip=('layer1.', 'lm_head')) >= 4


def last_position_loss(mg, doc):
    """The loss at the last position only: the earlier positions' weights reach it through the KV
    cache alone."""
    tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in doc] + [mg.BOS]
    keys, values = empty_cache(mg)
    for pos_id in range(len(tokens) - 1):
        logits = mg.gpt(tokens[pos_id], pos_id, keys, values)
    return -mg.softmax(logits)[tokens[-1]].log()


@needs('gpt')
def test_gradients_flow_back_to_earlier_positions_through_the_kv_cache(mg):
    doc = next(doc for doc in mg.docs if len(doc) == 5)
    loss_fn = lambda: last_position_loss(mg, doc)
    assert check_weights(mg, loss_fn, picks_per_matrix=0) >= 4
    if 'wpe' not in mg.state_dict:
        return  # a model without learned positions (rotary ones, say) has no wpe[0] to follow
    # wpe[0] is used at position 0 only, whose own prediction is not in this loss: its gradient can
    # only come back through the keys and values that position 0 left in the cache
    with no_cycle_collector():
        clear_gradients(mg)
        loss_fn().backward()
        first_position = mg.state_dict['wpe'][0]
        assert all(p.grad != 0 for p in first_position)
        for c, p in list(enumerate(first_position))[::4]:
            assert_close(p.grad, finite_difference(ByAutograd(mg, loss_fn), 'wpe', 0, c),
                         f'wpe[0][{c}]')
    clear_gradients(mg)


@needs('gpt')
def test_the_loss_is_the_mean_of_the_position_losses(mg):
    doc = mg.docs[3]
    tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in doc] + [mg.BOS]
    keys, values = empty_cache(mg)
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


@needs('gpt')
@no_cycle_collector()
def test_the_probabilities_sum_to_one_at_every_position(mg):
    tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in mg.docs[4]]
    keys, values = empty_cache(mg)
    for pos_id, token_id in enumerate(tokens):
        logits = mg.gpt(token_id, pos_id, keys, values)
        assert len(logits) == mg.vocab_size
        probs = [p.data for p in mg.softmax(logits)]
        assert all(p > 0 for p in probs) and sum(probs) == same(1.0)


@pytest.mark.parametrize('hyperparameters, doc', [
    pytest.param(dict(n_layer=4), 'abcdefgh', id='4 layers', marks=needs('n_layer')),
    pytest.param(dict(block_size=24, n_embd=24), 'abcdefghij' * 3, id='block_size 24, n_embd 24')])
def test_deep_and_wide_models_train_a_step(tmp_path, hyperparameters, doc):
    (tmp_path / 'input.txt').write_text(doc + '\n', encoding='utf-8')
    mg = load(cwd=tmp_path, num_steps=1, **hyperparameters)
    before = {name: [p.data for row in mat for p in row] for name, mat in mg.state_dict.items()}
    train_steps(mg, 1)  # 9 positions through 4 layers, or 24 (the document is cut at block_size)
    moved = [name for name in trained_matrices(mg)
             if [p.data for row in mg.state_dict[name] for p in row] != before[name]]
    # the gradient reached every layer, the first included
    for li in range(getattr(mg, 'n_layer', 0)):
        assert any(name.startswith(f'layer{li}.')
                   for name in moved), f'no weight of layer {li} moved'
    assert moved, 'no weight moved in a training step'


@pytest.mark.reference
@needs('n_layer')
def test_the_deepest_model_the_readme_names_trains_on_the_longest_name():
    # The README says n_layer = 6 is the deepest that trains under Python's recursion limit
    # (backward() sorts the graph by recursion, and each layer makes the graph deeper).
    mg = load(n_layer=6)
    with no_cycle_collector():
        mg.document_loss(max(mg.docs, key=len)).backward()
    assert any(p.grad != 0 for p in mg.params)
