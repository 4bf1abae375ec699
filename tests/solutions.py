"""The solutions to the homework that README.md's "For courses" hands out, and the classic mistakes,
as edits that tests/test_edits.py makes to a copy of microgpt.py to check the check with.

A course that hands the repository to its students can leave this file out of their copy: the check
(`python -m pytest -m "not reference"`) does not need it, and tests/test_edits.py says it is
missing.

An edit is (a piece of one line of microgpt.py, what replaces that whole line): '{line}' in the new
text stands for the line as it was, so an edit can add lines around it; '' removes it.
"""

TANH = '''    def tanh(self):
        t = math.tanh(self.data)
        return Value(t, (self,), (1 - t ** 2,))
{line}'''
CLAMP = '''    def clamp(self, lo, hi):  # held between lo and hi: flat outside, slope 0 there
        return Value(min(max(self.data, lo), hi), (self,), (float(lo < self.data < hi),))
{line}'''
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
ROTARY = [
    ("'wpe': matrix(block_size, n_embd),", "state_dict = {'wte': matrix(vocab_size, n_embd),"),
    ("state_dict['wpe'][pos_id]",
     "    tok_emb = state_dict['wte'][token_id]  # where it stands: rotate() below"),
    ('x = [t + p for t, p in zip(tok_emb, pos_emb)]', '    x = tok_emb'),
    ('keys[li].append(k)',
     '''        q, k = rotate(q, pos_id), rotate(k, pos_id)  # where a token is: an angle, not wpe
{line}'''),
    ('def gpt(token_id, pos_id, keys, values):',
     '''def rotate(x, pos_id):  # turn each pair of a head's dimensions by an angle: pos_id's
    out = []
    for h in range(n_head):
        for i in range(0, head_dim, 2):
            angle = pos_id * 10000 ** (-i / head_dim)
            a, b = x[h * head_dim + i], x[h * head_dim + i + 1]
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
MIXTURE = [
    ("state_dict[f'layer{i}.mlp_fc1']",
     '''    state_dict[f'layer{i}.router'] = matrix(4, n_embd)  # a score for each of 4 experts
    for e in range(4):  # each expert a small MLP: n_embd wide inside, not 4 * n_embd
        state_dict[f'layer{i}.expert{e}.fc1'] = matrix(n_embd, n_embd)
        state_dict[f'layer{i}.expert{e}.fc2'] = matrix(n_embd, n_embd)'''),
    ("state_dict[f'layer{i}.mlp_fc2']", ''),
    ("linear(x, state_dict[f'layer{li}.mlp_fc1'])", EXPERTS),
    ("linear(x, state_dict[f'layer{li}.mlp_fc2'])", ''),
]
MOMENTUM = [
    ('m[i] = beta1 * m[i]',
     '            m[i] = 0.9 * m[i] + p.grad  # momentum SGD: a decaying sum of gradients'),
    ('v[i] = beta2 * v[i]', ''), ('m_hat = m[i]', ''), ('v_hat = v[i]', ''),
    ('p.data -= lr_t * m_hat', '            p.data -= lr_t * m[i]'),
]
HOMEWORK = [('def __neg__(self)', TANH),
            ('def __neg__(self)', CLAMP)] + LORA + ROTARY + MIXTURE + MOMENTUM

MISTAKES = {  # name: (what changes in the homework copy, words the check's output must hold, the
    # check that names it: an operation of Value, or a test of tests/test_model.py)
    "a wrong local derivative (tanh's as 1 - t)": ([('return Value(t, (self,), (1 - t ** 2,))',
                                                     '        return Value(t, (self,), (1 - t,))')],
                                                   ['Value.tanh(Value(', 'backward() gives'],
                                                   'Value.tanh'),
    'a wrong local derivative (clamp with slope 1 everywhere)': (
        [('float(lo < self.data < hi)',
          '        return Value(min(max(self.data, lo), hi), (self,), (1,))')],
        ['Value.clamp(Value(', 'backward() gives'], 'Value.clamp'),
    'a local derivative list shorter than the inputs': (
        [('def __neg__(self)', '''    def maximum(self, other):
        return Value(max(self.data, other.data), (self, other), (float(self.data > other.data),))
{line}''')], ['Value.maximum(', 'there must be one for each input'], 'Value.maximum'),
    'a branch fed a detached input (LoRA reads a copy of x)': (
        [('linear(linear(x, a), b)', '        q = [qi + di for qi, di in zip(q, linear(linear('
                                     '[Value(xi.data) for xi in x], a), b))]')],
        ['all its weights moved at once along a random direction: backward() gives'],
        'test_the_whole_gradient_of_every_matrix_along_a_random_direction'),
    'a router chosen by argmax (no gate: no gradient ever reaches it)': (
        [('chosen = sorted(range(4)',
          '        chosen = [max(range(4), key=lambda e: scores[e].data)]'),
         ('gates = softmax(', '        gates = [1]')], ['layer0.router', 'never trained'],
        'test_every_matrix_in_params_is_trained'),
    'an optimizer that does not clear .grad': ([('p.grad = 0', '')], ['still hold a gradient'],
                                               'test_a_training_step_clears_every_gradient'),
    "micrograd's backward(): a nested build_topo that calls itself": (
        [('topo = []', '''        topo, visited = [], set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build_topo(child)
                topo.append(v)'''), ('self.build_topo(topo, set())', '        build_topo(self)')],
        ['memory grows every step'], 'test_no_step_leaves_its_graph_behind'),
}
