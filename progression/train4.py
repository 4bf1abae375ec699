"""train4: the whole GPT: attention with several heads, and a stack of layers.
It adds: heads, each attending over its own slice of the dimensions; n_layer blocks in a row.
It still lacks: Adam, the optimizer that microgpt.py (train5) trains it with."""
import math, os, random
random.seed(42)  # let there be order among chaos: the same numbers every run

# Dataset: one document per line of input.txt (here, 32,033 names)
if not os.path.exists('input.txt'):
    import urllib.request
    names_url = 'https://raw.githubusercontent.com/karpathy/makemore/988aa59/names.txt'
    urllib.request.urlretrieve(names_url, 'input.txt.part')
    os.replace('input.txt.part', 'input.txt')  # input.txt appears whole, or not at all
docs = [line.strip() for line in open('input.txt', encoding='utf-8') if line.strip()]
assert docs, "input.txt holds no documents: write one per line"
random.shuffle(docs)
print(f"num docs: {len(docs)}")

# Tokenizer: a token per character, and one more, BOS, for where a document starts and ends
uchars = sorted(set(''.join(docs)))  # the dataset's characters become token ids 0..n-1
BOS = len(uchars)  # token id of the special Beginning of Sequence token
vocab_size = len(uchars) + 1  # +1 for BOS
print(f"vocab size: {vocab_size}")

# Autograd: every number remembers how it was made, so the chain rule can run backwards
class Value:
    __slots__ = ('data', 'grad', '_children', '_local_grads')  # less memory per node

    def __init__(self, data, children=(), local_grads=()):
        self.data = data                 # the scalar computed in the forward pass
        self.grad = 0                    # d(loss)/d(this node), summed by backward()
        self._children = children        # the nodes this one was computed from
        self._local_grads = local_grads  # d(this node)/d(each child), known when made

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data + other.data, (self, other), (1, 1))

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return Value(self.data * other.data, (self, other), (other.data, self.data))

    def __pow__(self, k): return Value(self.data ** k, (self,), (k * self.data ** (k - 1),))
    def log(self): return Value(math.log(self.data), (self,), (1 / self.data,))
    def exp(self): return Value(math.exp(self.data), (self,), (math.exp(self.data),))
    def relu(self): return Value(max(0, self.data), (self,), (float(self.data > 0),))
    def __neg__(self): return self * -1
    def __radd__(self, other): return self + other  # sum() starts from 0 + Value
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other ** -1
    def __rtruediv__(self, other): return other * self ** -1

    def build_topo(self, topo, visited):  # every node after the nodes it was made from
        if self not in visited:
            visited.add(self)
            for child in self._children:
                child.build_topo(topo, visited)
            topo.append(self)

    def backward(self):
        topo = []  # topological order: a node's grad is whole before it passes it on
        self.build_topo(topo, set())
        self.grad = 1  # d(loss)/d(loss)
        for node in reversed(topo):
            for child, local_grad in zip(node._children, node._local_grads):
                child.grad += local_grad * node.grad  # +=: every path adds its share

# Parameters: the model's knowledge, random at first, then shaped by training
n_layer = 1      # depth: how many transformer blocks
n_embd = 16      # width: the length of every token's vector
block_size = 16  # the longest context (the longest name has 15 characters)
n_head = 4       # attention heads, each with its own n_embd // n_head dimensions
head_dim = n_embd // n_head
assert n_embd % n_head == 0, f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})"

def matrix(nout, nin, std=0.08):  # row i: the weights of output i
    return [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]
state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd),
              'lm_head': matrix(vocab_size, n_embd)}
for i in range(n_layer):
    for name in ['attn_wq', 'attn_wk', 'attn_wv', 'attn_wo']:  # query, key, value, output
        state_dict[f'layer{i}.{name}'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc1'] = matrix(4 * n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc2'] = matrix(n_embd, 4 * n_embd)
params = [p for mat in state_dict.values() for row in mat for p in row]
print(f"num params: {len(params)}")

# Model: GPT-2 simplified (rmsnorm, no biases, relu, no final norm), a token at a time
def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]

def softmax(logits):
    max_val = max(val.data for val in logits)  # a plain number, subtracted below: keeps exp() small
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]

def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]

def gpt(token_id, pos_id, keys, values):  # keys, values: the cache so far
    tok_emb = state_dict['wte'][token_id]  # what the token is
    pos_emb = state_dict['wpe'][pos_id]  # where it stands
    x = [t + p for t, p in zip(tok_emb, pos_emb)]
    x = rmsnorm(x)  # each block adds its output to x: start x at unit scale
    for li in range(n_layer):
        # 1) Multi-head attention: tokens talk, each to itself and those before it
        x_residual = x
        x = rmsnorm(x)
        q = linear(x, state_dict[f'layer{li}.attn_wq'])
        k = linear(x, state_dict[f'layer{li}.attn_wk'])
        v = linear(x, state_dict[f'layer{li}.attn_wv'])
        keys[li].append(k)  # kept as graph nodes: a later position's loss trains this k and v
        values[li].append(v)
        x_attn = []
        for h in range(n_head):
            start = h * head_dim
            q_h = q[start:start + head_dim]
            k_h = [ki[start:start + head_dim] for ki in keys[li]]
            v_h = [vi[start:start + head_dim] for vi in values[li]]
            # score each cached position: q . k, scaled so scores don't grow with head_dim
            attn_logits = [sum(a * b for a, b in zip(q_h, k_t)) / head_dim ** 0.5 for k_t in k_h]
            attn_weights = softmax(attn_logits)  # how much of each value to mix in
            head_out = [sum(w * v_t[j] for w, v_t in zip(attn_weights, v_h))
                        for j in range(head_dim)]
            x_attn.extend(head_out)
        x = linear(x_attn, state_dict[f'layer{li}.attn_wo'])
        x = [a + b for a, b in zip(x, x_residual)]  # residual: the gradient flows straight back too

        # 2) MLP: each token thinks on its own, in a space four times wider
        x_residual = x
        x = rmsnorm(x)
        x = linear(x, state_dict[f'layer{li}.mlp_fc1'])
        x = [xi.relu() for xi in x]
        x = linear(x, state_dict[f'layer{li}.mlp_fc2'])
        x = [a + b for a, b in zip(x, x_residual)]
    return linear(x, state_dict['lm_head'])  # logits: a score for each token

# Training: each step nudges every weight to make one document less surprising
def document_loss(doc):  # the model's mean surprise at each next token of doc
    tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]  # BOS at both ends
    n = min(block_size, len(tokens) - 1)  # the last token has no next token to predict
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]  # a fresh cache
    losses = []
    for pos_id in range(n):
        token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
        probs = softmax(gpt(token_id, pos_id, keys, values))
        losses.append(-probs[target_id].log())  # cross-entropy: surprise at the true next token
    return (1 / n) * sum(losses)

if __name__ == '__main__':  # a script or notebook cell trains, then samples; an import skips this
    num_steps = 1000  # one document a step
    learning_rate = 0.5  # how far each weight moves against its gradient, at first
    for step in range(num_steps):
        # 1) Forward: one document through the model, up to its loss
        loss = document_loss(docs[step % len(docs)])

        # 2) Backward: every parameter's .grad becomes d(loss)/d(parameter)
        loss.backward()

        # 3) Update: gradient descent, the learning rate decaying linearly towards 0
        lr_t = learning_rate * (1 - step / num_steps)
        for p in params:
            p.data -= lr_t * p.grad
            p.grad = 0  # backward() adds into .grad, so clear it for the next step
        print(f"step {step + 1:4d} / {num_steps:4d} | loss {loss.data:.4f}", end='\r')

    # Sampling (inference): from BOS, feed each token back in until the model says BOS
    temperature = 0.5  # above 0: lower plays it safe; 1 uses the model's probabilities as they are
    assert temperature > 0, f"temperature ({temperature}) must be above 0"
    print("\n--- inference (new, hallucinated names) ---")
    for sample_idx in range(20):
        keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
        token_id, chars = BOS, []
        for pos_id in range(block_size):
            logits = gpt(token_id, pos_id, keys, values)
            probs = softmax([logit / temperature for logit in logits])
            token_id = random.choices(range(vocab_size), weights=[p.data for p in probs])[0]
            if token_id == BOS:
                break
            chars.append(uchars[token_id])
        print(f"sample {sample_idx + 1:2d}: {''.join(chars)}")
