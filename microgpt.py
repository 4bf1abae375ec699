"""
microgpt: the most atomic way to train and sample a GPT, in pure, dependency-free Python.
This file is the complete algorithm; everything else is just efficiency.
Run it: `python microgpt.py`. Import it (`import microgpt`) to get the model without training it.
"""
import math
import os
import random
import sys
random.seed(42)  # let there be order among chaos: the same seed gives the same numbers on any machine

# Dataset: the documents to learn from, one per line of input.txt (32,033 names unless you bring your own)
names_url = 'https://raw.githubusercontent.com/karpathy/makemore/988aa59/names.txt'
if not os.path.exists('input.txt'):
    import urllib.request
    try:  # read it all before writing anything, so a cut-off download leaves no partial file behind
        data = urllib.request.urlopen(names_url, timeout=60).read()
    except Exception as e:
        sys.exit(f"microgpt: cannot download {names_url} ({e}); save that file, "
                 f"or any text with one document per line, as input.txt")
    with open('input.txt.part', 'wb') as f:
        f.write(data)
    os.replace('input.txt.part', 'input.txt')  # the file appears whole or not at all
try:  # UTF-8 whatever the machine's locale, so any script trains (utf-8-sig: a leading BOM is dropped)
    with open('input.txt', encoding='utf-8-sig') as f:
        text = f.read()
except UnicodeDecodeError as e:
    sys.exit(f"microgpt: input.txt is not UTF-8 text (byte {e.start}); save it as UTF-8")
docs = [line.strip() for line in text.strip().split('\n') if line.strip()]
if not docs:
    sys.exit("microgpt: input.txt holds no documents; write one document per line")
random.shuffle(docs)
print(f"num docs: {len(docs)}")

# Tokenizer: each distinct character is a token id; one more token, BOS, marks where a document begins and ends
uchars = sorted(set(''.join(docs)))  # the dataset's characters become token ids 0..n-1
BOS = len(uchars)  # token id of the special Beginning of Sequence token
vocab_size = len(uchars) + 1  # +1 for BOS
print(f"vocab size: {vocab_size}")

# Autograd: every number remembers how it was made, so the chain rule can run backwards through it
class Value:
    __slots__ = ('data', 'grad', '_children', '_local_grads')  # no per-node dict: less memory, faster

    def __init__(self, data, children=(), local_grads=()):
        self.data = data                 # the scalar computed in the forward pass
        self.grad = 0                    # d(loss)/d(this node), filled in by backward()
        self._children = children        # the nodes this one was computed from
        self._local_grads = local_grads  # d(this node)/d(each child), known when the node is made

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
    def __radd__(self, other): return self + other
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other ** -1
    def __rtruediv__(self, other): return other * self ** -1

    def backward(self):
        topo = []
        visited = set()
        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._children:
                    build_topo(child)
                topo.append(v)
        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            for child, local_grad in zip(v._children, v._local_grads):
                child.grad += local_grad * v.grad

# Parameters: the model's knowledge, random at first, then shaped by training
n_layer = 1      # depth: how many transformer blocks
n_embd = 16      # width: the length of every token's vector
block_size = 16  # the longest context the model sees (the longest name has 15 characters)
n_head = 4       # attention heads, each reading its own n_embd // n_head dimensions
head_dim = n_embd // n_head
if n_embd % n_head:
    sys.exit(f"microgpt: n_embd ({n_embd}) must be divisible by n_head ({n_head})")

def matrix(nout, nin, std=0.08):  # nout rows of nin weights: row i computes output i of a layer
    return [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]

state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd),
              'lm_head': matrix(vocab_size, n_embd)}
for i in range(n_layer):
    state_dict[f'layer{i}.attn_wq'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wk'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wv'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.attn_wo'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc1'] = matrix(4 * n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc2'] = matrix(n_embd, 4 * n_embd)
params = [p for mat in state_dict.values() for row in mat for p in row]  # one flat list, for the optimizer
print(f"num params: {len(params)}")

# Model: GPT-2 with small simplifications (rmsnorm for layernorm, no biases, relu for gelu), one token at a time
def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]

def softmax(logits):
    max_val = max(val.data for val in logits)  # a plain number: shifting all logits alike keeps exp() small
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]

def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]

def gpt(token_id, pos_id, keys, values):
    tok_emb = state_dict['wte'][token_id]  # what the token is
    pos_emb = state_dict['wpe'][pos_id]  # where it stands
    x = [t + p for t, p in zip(tok_emb, pos_emb)]
    x = rmsnorm(x)  # not redundant: the residual stream below starts from this normalized x
    for li in range(n_layer):
        # 1) Multi-head attention: tokens talk to each other, each looking back over the cache
        x_residual = x
        x = rmsnorm(x)
        q = linear(x, state_dict[f'layer{li}.attn_wq'])
        k = linear(x, state_dict[f'layer{li}.attn_wk'])
        v = linear(x, state_dict[f'layer{li}.attn_wv'])
        keys[li].append(k)  # the KV cache holds live graph nodes: gradients flow back to earlier positions
        values[li].append(v)
        x_attn = []
        for h in range(n_head):
            hs = h * head_dim
            q_h = q[hs:hs + head_dim]
            k_h = [ki[hs:hs + head_dim] for ki in keys[li]]
            v_h = [vi[hs:hs + head_dim] for vi in values[li]]
            attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim ** 0.5
                           for t in range(len(k_h))]
            attn_weights = softmax(attn_logits)
            head_out = [sum(attn_weights[t] * v_h[t][j] for t in range(len(v_h))) for j in range(head_dim)]
            x_attn.extend(head_out)
        x = linear(x_attn, state_dict[f'layer{li}.attn_wo'])
        x = [a + b for a, b in zip(x, x_residual)]  # residual: gradients get a straight path back
        # 2) MLP: each token thinks on its own, in a space four times wider
        x_residual = x
        x = rmsnorm(x)
        x = linear(x, state_dict[f'layer{li}.mlp_fc1'])
        x = [xi.relu() for xi in x]
        x = linear(x, state_dict[f'layer{li}.mlp_fc2'])
        x = [a + b for a, b in zip(x, x_residual)]
    return linear(x, state_dict['lm_head'])  # one logit per token of the vocabulary

def document_loss(doc):
    """Feed one document through the model token by token; return its mean next-token loss."""
    tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]  # BOS on both sides: start, then stop
    n = min(block_size, len(tokens) - 1)  # the model has positions for block_size tokens at most
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]  # a fresh KV cache
    losses = []
    for pos_id in range(n):
        probs = softmax(gpt(tokens[pos_id], pos_id, keys, values))
        losses.append(-probs[tokens[pos_id + 1]].log())  # cross-entropy: surprise at the true next token
    return (1 / n) * sum(losses)

# Training: Adam keeps two running averages per parameter; the learning rate decays linearly to zero
num_steps = 1000
learning_rate, beta1, beta2, eps_adam = 0.01, 0.85, 0.99, 1e-8
m = [0.0] * len(params)  # first moment: a running mean of each gradient (momentum)
v = [0.0] * len(params)  # second moment: a running mean of each squared gradient (its scale)

def adam_step(step):
    lr_t = learning_rate * (1 - step / num_steps)
    for i, p in enumerate(params):
        m[i] = beta1 * m[i] + (1 - beta1) * p.grad
        v[i] = beta2 * v[i] + (1 - beta2) * p.grad ** 2
        m_hat = m[i] / (1 - beta1 ** (step + 1))  # undo the pull towards the zeros they start from
        v_hat = v[i] / (1 - beta2 ** (step + 1))
        p.data -= lr_t * m_hat / (v_hat ** 0.5 + eps_adam)
        p.grad = 0  # backward() adds into .grad, so clear it for the next step

def train(steps):
    for step in range(steps):
        loss = document_loss(docs[step % len(docs)])
        loss.backward()
        adam_step(step)
        print(f"step {step + 1:4d} / {num_steps:4d} | loss {loss.data:.4f}", end='\r')

# Sampling: start from BOS and feed each sampled token back in, until the model says BOS again
temperature = 0.5  # in (0, 1]: low plays it safe, 1 samples what the model learned as it is
if temperature <= 0:
    sys.exit(f"microgpt: temperature ({temperature}) must be above 0")

def sample():
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
    token_id, chars = BOS, []
    for pos_id in range(block_size):
        probs = softmax([l / temperature for l in gpt(token_id, pos_id, keys, values)])
        token_id = random.choices(range(vocab_size), weights=[p.data for p in probs])[0]
        if token_id == BOS:
            break
        chars.append(uchars[token_id])
    return ''.join(chars)

if __name__ == '__main__':  # true for `python microgpt.py` and in a notebook cell; false for `import microgpt`
    train(num_steps)
    print("\n--- inference (new, hallucinated names) ---")
    for i in range(20):
        print(f"sample {i + 1:2d}: {sample()}")
