"""microgpt: the most atomic way to train and sample a GPT, in one file of pure, dependency-free Python.
This file is the complete algorithm; everything else is just efficiency."""
import gc, math, os, random, sys, urllib.request
random.seed(42)  # let there be order among chaos: the same seed gives the same numbers on any machine

# Dataset: the documents to learn from, one per line of input.txt (32,033 names unless you bring your own)
names_url = 'https://raw.githubusercontent.com/karpathy/makemore/988aa59/names.txt'
if not os.path.exists('input.txt'):
    try:  # read all of it before writing anything: a transfer cut off half way raises here
        data = urllib.request.urlopen(names_url, timeout=60).read()
    except Exception as e:
        sys.exit(f"microgpt: cannot download {names_url} ({e}); save it, or your own text, as input.txt")
    with open('input.txt.part', 'wb') as f: f.write(data)
    os.replace('input.txt.part', 'input.txt')  # a rename: input.txt appears whole or not at all
try:  # UTF-8 whatever the machine's locale, so any script trains ('-sig': drop a leading byte-order mark)
    with open('input.txt', encoding='utf-8-sig') as f:
        docs = [line.strip() for line in f.read().strip().split('\n') if line.strip()]
except UnicodeDecodeError as e:
    sys.exit(f"microgpt: input.txt is not UTF-8 text (see byte {e.start}); save it as UTF-8")
if not docs: sys.exit("microgpt: input.txt holds no documents; write one document per line")
random.shuffle(docs)
print(f"num docs: {len(docs)}")

# Tokenizer: each distinct character is a token; one extra token, BOS, marks where a document starts and ends
uchars = sorted(set(''.join(docs)))  # the dataset's characters become token ids 0..n-1
BOS = len(uchars)  # token id of the special Beginning of Sequence token
vocab_size = len(uchars) + 1  # +1 for BOS
print(f"vocab size: {vocab_size}")

# Autograd: every number remembers how it was made, so the chain rule can run back through the graph
class Value:
    __slots__ = ('data', 'grad', '_children', '_local_grads')  # no per-node dict: less memory, faster
    def __init__(self, data, children=(), local_grads=()):
        self.data = data                 # the scalar computed in the forward pass
        self.grad = 0.0                  # d(loss)/d(this node), filled in by backward()
        self._children = children        # the nodes this one was computed from
        self._local_grads = local_grads  # d(this node)/d(each child), known as soon as the node is made
    def __add__(self, other):
        if isinstance(other, Value):
            return Value(self.data + other.data, (self, other), (1.0, 1.0))
        return Value(self.data + other, (self,), (1.0,))  # a plain number is a constant: it needs no node
    def __mul__(self, other):
        if isinstance(other, Value):
            return Value(self.data * other.data, (self, other), (other.data, self.data))
        return Value(self.data * other, (self,), (other,))
    def __pow__(self, k): return Value(self.data ** k, (self,), (k * self.data ** (k - 1),))
    def log(self): return Value(math.log(self.data), (self,), (1 / self.data,))
    def exp(self): return Value(math.exp(self.data), (self,), (math.exp(self.data),))
    def relu(self): return Value(self.data, (self,), (1.0,)) if self.data > 0 else Value(0.0)  # 0 is a constant
    def __neg__(self): return self * -1
    def __radd__(self, other): return self if other == 0 else self + other  # sum() starts from 0
    def __sub__(self, other): return self + (-other)
    def __rsub__(self, other): return other + (-self)
    def __rmul__(self, other): return self * other
    def __truediv__(self, other): return self * other ** -1
    def __rtruediv__(self, other): return other * self ** -1
    def backward(self):
        # Sort the graph so each node comes after its children: depth first, on explicit stacks (any depth works)
        topo, visited = [], {self}
        path, todo = [self], [iter(self._children)]  # the nodes we are inside, and the children each has left
        while todo:
            for child in todo[-1]:
                if child._children and child not in visited:  # a leaf has nothing to pass on: skip it
                    visited.add(child)
                    path.append(child)
                    todo.append(iter(child._children))
                    break  # go down into this child first, then come back for the rest
            else:  # all of its children are done, so the node takes its place
                todo.pop()
                topo.append(path.pop())
        self.grad = 1.0  # the chain rule, from the loss back; += as a node used twice gets both gradients
        if not self._children: return  # a leaf: its own gradient is all there is
        for v in reversed(topo):  # an operation has one input or two, so a node has one child or two
            v._children[0].grad += v._local_grads[0] * v.grad
            if len(v._children) == 2:
                v._children[1].grad += v._local_grads[1] * v.grad

# Parameters: the model's knowledge, random at first, then shaped by training
n_layer = 1      # depth: how many transformer blocks
n_embd = 16      # width: the length of every token's vector
block_size = 16  # the longest context the model sees (the longest name has 15 characters)
n_head = 4       # attention heads, each reading its own n_embd // n_head dimensions
head_dim = n_embd // n_head
if n_embd % n_head: sys.exit(f"microgpt: n_embd ({n_embd}) must be a multiple of n_head ({n_head})")
def matrix(nout, nin, std=0.08):  # nout rows of nin weights: row i computes output i of a layer
    return [[Value(random.gauss(0, std)) for _ in range(nin)] for _ in range(nout)]
state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd), 'lm_head': matrix(vocab_size, n_embd)}
for i in range(n_layer):
    for name in ['attn_wq', 'attn_wk', 'attn_wv', 'attn_wo']:  # attention: query, key, value, output
        state_dict[f'layer{i}.{name}'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc1'] = matrix(4 * n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc2'] = matrix(n_embd, 4 * n_embd)
params = [p for mat in state_dict.values() for row in mat for p in row]  # one flat list, for the optimizer
print(f"num params: {len(params)}")

# Model: GPT-2, simplified (rmsnorm for layernorm, no biases, relu for gelu), run one token at a time
def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]
def softmax(logits):
    max_val = max(val.data for val in logits)  # a plain number: shifting every logit alike keeps exp() small
    exps = [(val - max_val).exp() for val in logits]
    total = sum(exps)
    return [e / total for e in exps]
def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]

def gpt(token_id, pos_id, keys, values):
    tok_emb, pos_emb = state_dict['wte'][token_id], state_dict['wpe'][pos_id]  # what the token is, where it is
    x = rmsnorm([t + p for t, p in zip(tok_emb, pos_emb)])  # not redundant: the residual stream starts here
    for li in range(n_layer):
        # 1) Multi-head attention: tokens talk to each other, the new one looking back over the cache
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
            attn_logits = [sum(q_h[j] * k_h[t][j] for j in range(head_dim)) / head_dim**0.5 for t in range(len(k_h))]
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
    return linear(x, state_dict['lm_head'])  # logits: one score per token of the vocabulary

def document_loss(doc):  # feed one document through the model token by token: its mean next-token loss
    tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]  # BOS on both sides: how to start, when to stop
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
    debias1, debias2 = 1 - beta1 ** (step + 1), 1 - beta2 ** (step + 1)  # m and v start at 0: undo that pull
    for i, p in enumerate(params):
        m[i] = beta1 * m[i] + (1 - beta1) * p.grad
        v[i] = beta2 * v[i] + (1 - beta2) * p.grad ** 2
        m_hat, v_hat = m[i] / debias1, v[i] / debias2
        p.data -= lr_t * m_hat / (v_hat ** 0.5 + eps_adam)
        p.grad = 0.0  # backward() adds into .grad, so clear it for the next step

def train(steps):
    gc_was_enabled = gc.isenabled()  # the graph has no cycles, so reference counting frees it: pause the
    gc.disable()  # cycle collector, which would only walk its many live nodes again and again
    try:
        for step in range(steps):
            loss = document_loss(docs[step % len(docs)])
            loss.backward()
            adam_step(step)
            print(f"step {step + 1:4d} / {num_steps:4d} | loss {loss.data:.4f}", end='\r')
            del loss  # free this step's graph before the next one is built
    finally:
        if gc_was_enabled: gc.enable()

# Sampling: start from BOS and feed each sampled token back in, until the model says BOS again
temperature = 0.5  # in (0, 1]: low plays it safe, 1 samples what the model learned as it is
if temperature <= 0: sys.exit(f"microgpt: temperature ({temperature}) must be above 0")
def sample():
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
    token_id, chars = BOS, []
    for pos_id in range(block_size):
        probs = softmax([logit / temperature for logit in gpt(token_id, pos_id, keys, values)])
        token_id = random.choices(range(vocab_size), weights=[p.data for p in probs])[0]
        if token_id == BOS: break
        chars.append(uchars[token_id])
    return ''.join(chars)
def show(line):  # print, escaping what the terminal's encoding cannot show instead of failing on it
    encoding = sys.stdout.encoding or 'utf-8'
    print(line.encode(encoding, 'backslashreplace').decode(encoding))

if __name__ == '__main__':  # true for `python microgpt.py` and in a notebook cell; false on import
    train(num_steps)
    print("\n--- inference (new, hallucinated names) ---")
    for i in range(20):
        show(f"sample {i + 1:2d}: {sample()}")
