"""The solutions to the homework of progression/for-courses.md, and the classic mistakes, as edits
to a copy of microgpt.py (or of progression/by_hand.py): tests/test_check.py checks the check with
them, and `python3 tests/solutions.py FOLDER` writes them as files (a copy per solution, one with
all six, one per mistake), to grade or to measure.

A course hands students the repository without this file (`python3 tests/handout.py`): the check
does not need it.

An edit is (a piece of one line of microgpt.py, what replaces that whole line): '{line}' in the new
text stands for the line as it was, so an edit can add lines around it; '' removes it.
"""
import os
import sys

TANH = [('def __neg__(self)', '''    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1 - t ** 2,))
{line}''')]
GELU_LINE = ('        x = [0.5 * xi * (1 + (0.7978845608 * (xi + 0.044715 * xi ** 3)).tanh()) '
             'for xi in x]')
GELU = TANH + [('x = [xi.relu() for xi in x]', GELU_LINE)]
CLAMP = [('def __neg__(self)', '''    def clamp(self, lo, hi):  # flat, slope 0, outside lo..hi
        return Value(min(max(self.data, lo), hi), (self,), (float(lo < self.data < hi),))
{line}''')]
LORA = [
    ("state_dict[f'layer{i}.{name}'] = matrix(n_embd, n_embd)", '''{line}
    state_dict[f'layer{i}.attn_wq_a'] = matrix(2, n_embd)  # LoRA on the queries: rank 2
    state_dict[f'layer{i}.attn_wq_b'] = matrix(n_embd, 2, std=0)  # B = 0: no change at first'''),
    ('params = [p for mat in state_dict.values() for row in mat for p in row]',
     "params = [p for name, mat in state_dict.items() if not name.endswith('attn_wq') "
     "for row in mat for p in row]  # the base weights stay frozen"),
    ("q = linear(x, state_dict[f'layer{li}.attn_wq'])", '''{line}
        a, b = state_dict[f'layer{li}.attn_wq_a'], state_dict[f'layer{li}.attn_wq_b']
        q = [qi + di for qi, di in zip(q, linear(linear(x, a), b))]'''),
]
# Rotary: pair k of a head (its dimensions 2k and 2k + 1, k = 0 .. head_dim / 2 - 1) turns by the
# angle pos_id * 10000 ** (-2k / head_dim): (a, b) -> (a cos - b sin, a sin + b cos)
ROTARY = [
    ("'wpe': matrix(block_size, n_embd),", "state_dict = {'wte': matrix(vocab_size, n_embd),"),
    ("state_dict['wpe'][pos_id]", ''),
    ('x = [t + p for t, p in zip(tok_emb, pos_emb)]',
     '    x = tok_emb  # where it stands: rotate() turns q and k below'),
    ('keys[li].append(k)',
     '''        q, k = rotate(q, pos_id), rotate(k, pos_id)  # where a token is: an angle, not wpe
{line}'''),
    ('def gpt(token_id, pos_id, keys, values):',
     '''def rotate(x, pos_id):  # turn pair k of each head's dimensions by pos_id's angle for k
    out = []
    for h in range(n_head):
        for k in range(head_dim // 2):
            angle = pos_id * 10000 ** (-2 * k / head_dim)
            a, b = x[h * head_dim + 2 * k], x[h * head_dim + 2 * k + 1]
            out += [a * math.cos(angle) - b * math.sin(angle),
                    a * math.sin(angle) + b * math.cos(angle)]
    return out

{line}'''),
]
EXPERTS = '''        scores = linear(x, state_dict[f'layer{li}.router'])
        chosen = sorted(range(4), key=lambda e: scores[e].data, reverse=True)[:2]  # the top 2
        gates = softmax([scores[e] for e in chosen])  # how much of each: the router learns here
        out = [0] * n_embd
        for gate, e in zip(gates, chosen):
            h = linear(x, state_dict[f'layer{li}.expert{e}.fc1'])
            h = [0.5 * hi * (1 + (0.7978845608 * (hi + 0.044715 * hi ** 3)).tanh()) for hi in h]
            y = linear(h, state_dict[f'layer{li}.expert{e}.fc2'])
            out = [o + gate * yi for o, yi in zip(out, y)]
        x = out'''


def mixture(activation):
    """The mixture of experts in place of the whole MLP: its two linear layers and the activation
    between them (relu, or GELU where that homework is in the same copy)."""
    return TANH * (activation == 'xi.relu()') + [
        ("state_dict[f'layer{i}.mlp_fc1']",
         '''    state_dict[f'layer{i}.router'] = matrix(4, n_embd)  # a score for each of 4 experts
    for e in range(4):  # each expert a small MLP: n_embd wide inside, not 4 * n_embd
        state_dict[f'layer{i}.expert{e}.fc1'] = matrix(n_embd, n_embd)
        state_dict[f'layer{i}.expert{e}.fc2'] = matrix(n_embd, n_embd)'''),
        ("state_dict[f'layer{i}.mlp_fc2']", ''),
        ("linear(x, state_dict[f'layer{li}.mlp_fc1'])", EXPERTS),
        (activation, ''),
        ("linear(x, state_dict[f'layer{li}.mlp_fc2'])", ''),
    ]


MOMENTUM = [
    ('m[i] = beta1 * m[i]',
     '            m[i] = 0.9 * m[i] + p.grad  # momentum SGD: a decaying sum of gradients'),
    ('v[i] = beta2 * v[i]', ''), ('m_hat = m[i]', ''), ('v_hat = v[i]', ''),
    ('p.data -= lr_t * m_hat', '            p.data -= lr_t * m[i]'),
]
SOLUTIONS = {'gelu': GELU, 'clamp': CLAMP, 'lora': LORA, 'experts': mixture('xi.relu()'),
             'rotary': ROTARY, 'momentum': MOMENTUM}
HOMEWORK = GELU + CLAMP + LORA + ROTARY + mixture('0.044715 * xi ** 3') + MOMENTUM  # all six

# progression/by_hand.py's homework: GELU in place of relu, forward and backward
BY_HAND_GELU = [
    ('x = [max(0, xi) for xi in x]  # relu', '''        h = x
        x = [0.5 * xi * (1 + math.tanh(0.7978845608 * (xi + 0.044715 * xi ** 3))) for xi in x]'''),
    ('layers.append(attention + (x_residual, mlp_norm, x))',
     '        layers.append(attention + (x_residual, mlp_norm, h, x))'),
    ('mlp_in, mlp_norm, relu_out = layers[li]',
     '        attn_in, attn_norm, q, heads_weights, x_attn, mlp_in, mlp_norm, h, gelu_out = '
     'layers[li]'),
    ('d_relu = linear_backward(d_x, relu_out',
     "        d_gelu = linear_backward(d_x, gelu_out, w['mlp_fc2'], d_w['mlp_fc2'])"),
    ('d_h = [d * (out > 0) for d, out in zip(d_relu, relu_out)]', '''        d_h = []
        for d, hi in zip(d_gelu, h):  # GELU(h) = 0.5 h (1 + t): the product rule, then t's slope
            t = math.tanh(0.7978845608 * (hi + 0.044715 * hi ** 3))
            dt = (1 - t ** 2) * 0.7978845608 * (1 + 3 * 0.044715 * hi ** 2)  # d t / d h
            d_h.append(d * (0.5 * (1 + t) + 0.5 * hi * dt))'''),
]
BY_HAND_SOLUTIONS = {'by_hand_gelu': BY_HAND_GELU}

MISTAKES = {  # name: (what changes in the all-six copy, the check that fails, words it prints)
    "a wrong local derivative (tanh's as 1 - t)": (
        [('return Value(t, (self,), (1 - t ** 2,))', '        return Value(t, (self,), (1 - t,))')],
        'operations', ['Value.tanh(Value(', 'backward() gives']),
    'a wrong local derivative (clamp with slope 1 everywhere)': (
        [('float(lo < self.data < hi)',
          '        return Value(min(max(self.data, lo), hi), (self,), (1,))')],
        'operations', ['Value.clamp(Value(', 'backward() gives']),
    'a local derivative list shorter than the inputs': (
        [('def __neg__(self)', '''    def maximum(self, other):
        return Value(max(self.data, other.data), (self, other), (float(self.data > other.data),))
{line}''')], 'operations', ['Value.maximum(', 'there must be one for each input']),
    'a branch fed a detached input (LoRA reads a copy of x)': (
        [('linear(linear(x, a), b)', '        q = [qi + di for qi, di in zip(q, linear(linear('
                                     '[Value(xi.data) for xi in x], a), b))]')],
        'gradients', ['all its weights moved at once along a random direction: backward() gives']),
    'a router chosen by argmax (no gate: no gradient ever reaches it)': (
        [('chosen = sorted(range(4)',
          '        chosen = [max(range(4), key=lambda e: scores[e].data)]'),
         ('gates = softmax(', '        gates = [1]')],
        'every matrix trained', ['layer0.router', 'the model reads it', 'never trained']),
    'an optimizer that does not clear .grad': (
        [('p.grad = 0', '')], 'a training step', ["still hold the last step's gradient"]),
    "micrograd's backward(): a nested build_topo that calls itself": (
        [('topo = []', '''        topo, visited = [], set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build_topo(child)
                topo.append(v)'''), ('self.build_topo(topo, set())', '        build_topo(self)')],
        'a training step', ['memory grows every step']),
}
BY_HAND_MISTAKES = {  # the same, in by_hand_gelu.py
    "GELU's slope by hand without the product rule's second term": (
        [('d_h.append(d * (0.5 * (1 + t) + 0.5 * hi * dt))',
          '            d_h.append(d * 0.5 * (1 + t))')],
        'gradients', ['layer1.mlp_fc1', 'by hand gives']),
}


def apply(source, edits):
    """Each edit is (a piece of one line, what replaces that whole line)."""
    for piece, new in edits:
        lines = [line for line in source.split('\n') if piece in line]
        if len(lines) != 1:
            raise ValueError(f'{len(lines)} lines hold {piece!r}, not one')
        new = new.replace('{line}', lines[0])
        source = source.replace(lines[0] + '\n', new + '\n' if new else '')
    return source


def write_all(folder, shipped, by_hand):
    """A file per solution, one with all six, one per mistake (in the all-six copy)."""
    os.makedirs(folder, exist_ok=True)
    files = {f'{name}.py': apply(shipped, edits) for name, edits in SOLUTIONS.items()}
    files['all_six.py'] = apply(shipped, HOMEWORK)
    for name, edits in BY_HAND_SOLUTIONS.items():
        files[f'{name}.py'] = apply(by_hand, edits)
    for k, (name, (edits, _, _)) in enumerate(MISTAKES.items(), 1):
        files[f'mistake{k}.py'] = apply(files['all_six.py'], edits)
    for k, (name, (edits, _, _)) in enumerate(BY_HAND_MISTAKES.items(), len(MISTAKES) + 1):
        files[f'mistake{k}.py'] = apply(files['by_hand_gelu.py'], edits)
    for name, text in files.items():
        with open(os.path.join(folder, name), 'w', encoding='utf-8') as f:
            f.write(text)
    return sorted(files)


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, '..', 'microgpt.py'), encoding='utf-8') as f, \
            open(os.path.join(here, '..', 'progression', 'by_hand.py'), encoding='utf-8') as g:
        print('\n'.join(write_all(sys.argv[1], f.read(), g.read())))
