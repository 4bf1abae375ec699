"""Faithfulness to the reference: the figures, the order weights are drawn in, Adam's formula, run
through the script's own __main__ block; and the deepest model the README names."""
import random
import re

import pytest

from conftest import ROOT, SCRIPT, SPEC_LOSSES, Stop, first_steps, load, same
from checks import run_main

pytestmark = pytest.mark.reference


def test_import_prints_the_reference_figures():
    mg = load()
    assert mg.import_output.splitlines() == ['num docs: 32033', 'vocab size: 27',
                                             'num params: 4192']
    assert (mg.n_layer, mg.n_embd, mg.block_size, mg.n_head) == (1, 16, 16, 4)
    source = SCRIPT.read_text(encoding='utf-8')
    settings = dict(re.findall(r'^\s*(num_steps|temperature) = (\S+)', source, flags=re.M))
    assert settings == {'num_steps': '1000', 'temperature': '0.5'}


def test_first_five_steps_print_the_reference_losses():
    # exactly what `python microgpt.py` runs (its __main__ block), stopped after five steps
    lines, docs = first_steps(load(), 5)
    assert lines == [f'step {i + 1:4d} / 1000 | loss {loss}' for i, loss in enumerate(SPEC_LOSSES)]


def test_weights_are_drawn_in_the_reference_order():
    mg = load()
    assert list(mg.state_dict) == ['wte', 'wpe', 'lm_head', 'layer0.attn_wq', 'layer0.attn_wk',
                                   'layer0.attn_wv', 'layer0.attn_wo', 'layer0.mlp_fc1',
                                   'layer0.mlp_fc2']
    shapes = [(len(m), len(m[0])) for m in mg.state_dict.values()]
    assert shapes == [(27, 16), (16, 16), (27, 16), (16, 16), (16, 16), (16, 16), (16, 16),
                      (64, 16), (16, 64)]
    rng = random.Random(42)
    docs = [line.strip() for line in (ROOT / 'input.txt').read_text(encoding='utf-8').split('\n')
            if line.strip()]
    rng.shuffle(docs)
    assert docs == mg.docs
    assert [p.data for p in mg.params] == [rng.gauss(0, 0.08) for _ in range(4192)]


def test_two_adam_steps_match_the_formula_worked_by_hand():
    # pins this model's optimizer: an optimizer homework is expected to change it
    mg = load()
    params = mg.params
    gradients = [[((i % 7) - 3) * 0.01 for i in range(len(params))],  # includes zero gradients
                 [((i % 5) - 2) * 0.02 for i in range(len(params))]]
    start, after_first, docs_seen = [p.data for p in params], [], []

    class Loss:  # stands in for a document's loss: its backward() sets the gradients chosen above
        data = 0.0

        def backward(self):
            for p, g in zip(params, gradients[len(docs_seen) - 1]):
                p.grad = g

    def document_loss(doc):  # the training loop calls this once a step, before backward()
        if len(docs_seen) == 1:
            after_first.extend(p.data for p in params)
        if len(docs_seen) == 2:
            raise Stop
        docs_seen.append(doc)
        return Loss()

    mg.document_loss = document_loss
    run_main(mg, cwd=ROOT, sample=False)
    assert docs_seen == mg.docs[:2]  # step i trains on docs[i]
    first, second = gradients
    num_steps = 1000
    for i, p in enumerate(params):
        # the reference's Adam: lr_i = 0.01 (1 - i/num_steps); m = 0.85 m + 0.15 g;
        # v = 0.99 v + 0.01 g^2; m_hat = m / (1 - 0.85^(i+1)); v_hat = v / (1 - 0.99^(i+1));
        # p -= lr_i m_hat / (sqrt(v_hat) + 1e-8)
        m = 0.15 * first[i]
        v = 0.01 * first[i] ** 2
        x = start[i] - 0.01 * (m / 0.15) / ((v / 0.01) ** 0.5 + 1e-8)
        assert after_first[i] == same(x)
        m = 0.85 * m + 0.15 * second[i]
        v = 0.99 * v + 0.01 * second[i] ** 2
        x -= (0.01 * (1 - 1 / num_steps) * (m / (1 - 0.85 ** 2))
              / ((v / (1 - 0.99 ** 2)) ** 0.5 + 1e-8))
        assert p.data == same(x)
        assert p.grad == 0  # cleared for the next step
    # gradient 0 at the first step: no move
    assert after_first[0] != start[0] and after_first[3] == start[3]


def test_the_deepest_model_the_readme_names_trains_on_the_longest_name():
    # The README says n_layer = 6 is the deepest that trains under Python's recursion limit
    # (backward() sorts the graph by recursion, and each layer makes the graph deeper).
    mg = load(n_layer=6)
    mg.document_loss(max(mg.docs, key=len)).backward()
    assert any(p.grad != 0 for p in mg.params)
