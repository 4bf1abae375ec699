"""by_hand: microgpt.py's GPT with every gradient worked out by hand, in plain floats: no Value.
It adds: a backward function beside each forward one; the positions' backward pass, in reverse.
It still lacks: autograd, so each change to the model is made twice: forward, then backward."""
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

# Parameters: the model's knowledge, random at first, then shaped by training
n_layer = 1      # depth: how many transformer blocks
n_embd = 16      # width: the length of every token's vector
block_size = 16  # the longest context (the longest name has 15 characters)
n_head = 4       # attention heads, each with its own n_embd // n_head dimensions
head_dim = n_embd // n_head
assert n_embd % n_head == 0, f"n_embd ({n_embd}) must be a multiple of n_head ({n_head})"

def matrix(nout, nin, std=0.08):  # row i: the weights of output i
    return [[random.gauss(0, std) for _ in range(nin)] for _ in range(nout)]
state_dict = {'wte': matrix(vocab_size, n_embd), 'wpe': matrix(block_size, n_embd),
              'lm_head': matrix(vocab_size, n_embd)}
for i in range(n_layer):
    for name in ['attn_wq', 'attn_wk', 'attn_wv', 'attn_wo']:  # query, key, value, output
        state_dict[f'layer{i}.{name}'] = matrix(n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc1'] = matrix(4 * n_embd, n_embd)
    state_dict[f'layer{i}.mlp_fc2'] = matrix(n_embd, 4 * n_embd)
params = [(name, r, c) for name, mat in state_dict.items()  # no Values: a weight is its place
          for r, row in enumerate(mat) for c in range(len(row))]
print(f"num params: {len(params)}")

# Model: GPT-2 simplified (rmsnorm, no biases, relu, no final norm), a token at a time.
# Each backward function takes d(loss)/d(its output) and gives d(loss)/d(its input): the chain rule.
# The forward pass computes each float as microgpt.py's Values do, so the losses are the same to the
# last bit: a / b as a * b ** -1, and sums left to right from 0 (on Python 3.12 and later, sum() of
# floats rounds otherwise). The gradients, added up in another order, differ in their last bits.
def add_up(xs):
    total = 0
    for x in xs:
        total += x
    return total

def linear(x, w):
    return [add_up(wi * xi for wi, xi in zip(wo, x)) for wo in w]

def linear_backward(d_out, x, w, d_w):
    # out_i = sum_j w_ij * x_j, so d w_ij = d out_i * x_j, and d x_j = sum_i d out_i * w_ij
    for d, d_row in zip(d_out, d_w):
        for j, xj in enumerate(x):
            d_row[j] += d * xj  # +=: every position that uses w adds its share
    return [add_up(d * row[j] for d, row in zip(d_out, w)) for j in range(len(x))]

def softmax(logits):
    max_val = max(logits)  # subtracted below: keeps exp() small
    exps = [math.exp(val - max_val) for val in logits]
    total = add_up(exps)
    return [e * total ** -1 for e in exps]

def softmax_backward(d_probs, probs):
    # dz_i = p_i * (dp_i - sum_j p_j * dp_j): every p_i moves with every logit z_j, as they share
    # the total: d p_i / d z_j = p_i * ([i = j] - p_j)
    mean = add_up(p * d for p, d in zip(probs, d_probs))
    return [p * (d - mean) for p, d in zip(probs, d_probs)]

def rmsnorm(x):
    ms = add_up(xi * xi for xi in x) * len(x) ** -1
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]

def rmsnorm_backward(d_out, x):
    # dx = scale * (dy - x * mean(dy * x) * scale**2): y_i = x_i * scale, and scale, which is
    # (mean(x**2) + 1e-5) ** -0.5, moves with every x_j: d scale / d x_j = -scale**3 * x_j / n
    scale = (add_up(xi * xi for xi in x) / len(x) + 1e-5) ** -0.5
    mean_dy_x = add_up(d * xi for d, xi in zip(d_out, x)) / len(x)
    return [scale * (d - xi * mean_dy_x * scale ** 2) for d, xi in zip(d_out, x)]

def gpt(token_id, pos_id, keys, values):  # keys, values: the cache so far
    tok_emb = state_dict['wte'][token_id]  # what the token is
    pos_emb = state_dict['wpe'][pos_id]  # where it stands
    x = [t + p for t, p in zip(tok_emb, pos_emb)]
    x_emb, layers = x, []  # for the backward pass: what each function below is given
    x = rmsnorm(x)  # each block adds its output to x: start x at unit scale
    for li in range(n_layer):
        # 1) Multi-head attention: tokens talk, each to itself and those before it
        x_residual = x
        x = rmsnorm(x)
        q = linear(x, state_dict[f'layer{li}.attn_wq'])
        k = linear(x, state_dict[f'layer{li}.attn_wk'])
        v = linear(x, state_dict[f'layer{li}.attn_wv'])
        keys[li].append(k)  # kept: a later position's loss trains this k and v
        values[li].append(v)
        x_attn, heads_weights = [], []
        for h in range(n_head):
            start = h * head_dim
            q_h = q[start:start + head_dim]
            k_h = [ki[start:start + head_dim] for ki in keys[li]]
            v_h = [vi[start:start + head_dim] for vi in values[li]]
            # score each cached position: q . k, scaled so scores don't grow with head_dim
            attn_logits = [add_up(a * b for a, b in zip(q_h, k_t)) * (head_dim ** 0.5) ** -1
                           for k_t in k_h]
            attn_weights = softmax(attn_logits)  # how much of each value to mix in
            head_out = [add_up(w * v_t[j] for w, v_t in zip(attn_weights, v_h))
                        for j in range(head_dim)]
            x_attn.extend(head_out)
            heads_weights.append(attn_weights)
        attention = (x_residual, x, q, heads_weights, x_attn)  # what its backward pass needs
        x = linear(x_attn, state_dict[f'layer{li}.attn_wo'])
        x = [a + b for a, b in zip(x, x_residual)]  # residual: the gradient flows straight back too

        # 2) MLP: each token thinks on its own, in a space four times wider
        x_residual = x
        x = rmsnorm(x)
        mlp_norm = x
        x = linear(x, state_dict[f'layer{li}.mlp_fc1'])
        x = [max(0, xi) for xi in x]  # relu
        layers.append(attention + (x_residual, mlp_norm, x))
        x = linear(x, state_dict[f'layer{li}.mlp_fc2'])
        x = [a + b for a, b in zip(x, x_residual)]
    saved = (token_id, pos_id, x_emb, layers, x)
    return linear(x, state_dict['lm_head']), saved  # logits: a score for each token

def gpt_backward(d_logits, saved, keys, values, d_keys, d_values, grads):  # gpt(), in reverse
    token_id, pos_id, x_emb, layers, x = saved
    d_x = linear_backward(d_logits, x, state_dict['lm_head'], grads['lm_head'])
    for li in reversed(range(n_layer)):
        attn_in, attn_norm, q, heads_weights, x_attn, mlp_in, mlp_norm, relu_out = layers[li]
        w = {name: state_dict[f'layer{li}.{name}'] for name in
             ['attn_wq', 'attn_wk', 'attn_wv', 'attn_wo', 'mlp_fc1', 'mlp_fc2']}
        d_w = {name: grads[f'layer{li}.{name}'] for name in w}
        # 2) MLP. The residual x + f(x): the gradient passes through and adds to f's
        d_relu = linear_backward(d_x, relu_out, w['mlp_fc2'], d_w['mlp_fc2'])
        d_h = [d * (out > 0) for d, out in zip(d_relu, relu_out)]  # relu: slope 1 above 0, 0 below
        d_norm = linear_backward(d_h, mlp_norm, w['mlp_fc1'], d_w['mlp_fc1'])
        d_x = [a + b for a, b in zip(d_x, rmsnorm_backward(d_norm, mlp_in))]
        # 1) Attention over the cache: the positions t this one saw, itself and those before it
        d_attn = linear_backward(d_x, x_attn, w['attn_wo'], d_w['attn_wo'])
        seen = range(pos_id + 1)
        d_q = [0.0] * n_embd
        for h in range(n_head):
            dims = range(h * head_dim, (h + 1) * head_dim)  # this head's slice of q, k and v
            # out = sum_t w_t * v_t: d w_t = d out . v_t, and d v_t = w_t * d out
            d_weights = [add_up(d_attn[j] * values[li][t][j] for j in dims) for t in seen]
            d_attn_logits = softmax_backward(d_weights, heads_weights[h])
            # logit_t = q . k_t / sqrt(head_dim): d q = sum_t d logit_t * k_t / sqrt(head_dim),
            # and d k_t = d logit_t * q / sqrt(head_dim); += as each later position adds its share
            for t, wt, dl in zip(seen, heads_weights[h], d_attn_logits):
                dl = dl / head_dim ** 0.5
                for j in dims:
                    d_values[li][t][j] += wt * d_attn[j]
                    d_keys[li][t][j] += dl * q[j]
                    d_q[j] += dl * keys[li][t][j]
        # This position's k and v are whole now: later positions, run backward first, added theirs,
        # and this one just did. So they pass their gradient on to wk, wv and this position's x
        d_norm = [a + b + c for a, b, c in zip(  # it fed q, k and v: their three gradients add
            linear_backward(d_q, attn_norm, w['attn_wq'], d_w['attn_wq']),
            linear_backward(d_keys[li][pos_id], attn_norm, w['attn_wk'], d_w['attn_wk']),
            linear_backward(d_values[li][pos_id], attn_norm, w['attn_wv'], d_w['attn_wv']))]
        d_x = [a + b for a, b in zip(d_x, rmsnorm_backward(d_norm, attn_in))]
    d_x = rmsnorm_backward(d_x, x_emb)
    for j, d in enumerate(d_x):  # x = wte[token] + wpe[pos]: both rows get the gradient of x
        grads['wte'][token_id][j] += d
        grads['wpe'][pos_id][j] += d

# Training: each step nudges every weight to make one document less surprising
def document_loss(doc):  # the model's mean surprise at each next token of doc, and its gradient
    tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]  # BOS at both ends
    n = min(block_size, len(tokens) - 1)  # the last token has no next token to predict
    keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]  # a fresh cache
    losses, d_logits, saved = [], [], []
    for pos_id in range(n):
        token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
        logits, kept = gpt(token_id, pos_id, keys, values)
        probs = softmax(logits)
        losses.append(-math.log(probs[target_id]))  # cross-entropy: surprise at the true next token
        # softmax and the loss together: d logit_i = (p_i - [i = target]) / n, as the loss is a mean
        d_logits.append([(p - (i == target_id)) / n for i, p in enumerate(probs)])
        saved.append(kept)
    grads = {name: [[0.0] * len(mat[0]) for _ in mat] for name, mat in state_dict.items()}
    # d(loss)/d(each cached k and v): every position that read them adds its share
    d_keys = [[[0.0] * n_embd for _ in range(n)] for _ in range(n_layer)]
    d_values = [[[0.0] * n_embd for _ in range(n)] for _ in range(n_layer)]
    # The positions in reverse: a position's k and v are used by every later position, so they
    # collect all their gradient before their own position passes it on
    for pos_id in reversed(range(n)):
        gpt_backward(d_logits[pos_id], saved[pos_id], keys, values, d_keys, d_values, grads)
    return (1 / n) * add_up(losses), grads

if __name__ == '__main__':  # a script or notebook cell trains, then samples; an import skips this
    num_steps = 1000  # one document a step
    learning_rate, beta1, beta2, eps_adam = 0.01, 0.85, 0.99, 1e-8
    m = [0.0] * len(params)  # Adam's first moment: a moving average of the gradient
    v = [0.0] * len(params)  # second: of the squared gradient, for a step size per weight
    for step in range(num_steps):
        # 1) Forward and 2) backward: one document's loss, and its gradient for every weight
        loss, grads = document_loss(docs[step % len(docs)])

        # 3) Update: Adam, the learning rate decaying linearly towards 0
        lr_t = learning_rate * (1 - step / num_steps)
        for i, (name, r, c) in enumerate(params):
            grad = grads[name][r][c]
            m[i] = beta1 * m[i] + (1 - beta1) * grad
            v[i] = beta2 * v[i] + (1 - beta2) * grad ** 2
            m_hat = m[i] / (1 - beta1 ** (step + 1))  # m, v start at 0: scale them up early on
            v_hat = v[i] / (1 - beta2 ** (step + 1))
            state_dict[name][r][c] -= lr_t * m_hat / (v_hat ** 0.5 + eps_adam)
        print(f"step {step + 1:4d} / {num_steps:4d} | loss {loss:.4f}", end='\r')

    # Sampling (inference): from BOS, feed each token back in until the model says BOS
    temperature = 0.5  # above 0: lower plays it safe; 1 uses the model's probabilities as they are
    assert temperature > 0, f"temperature ({temperature}) must be above 0"
    print("\n--- inference (new, hallucinated names) ---")
    for sample_idx in range(20):
        keys, values = [[] for _ in range(n_layer)], [[] for _ in range(n_layer)]
        token_id, chars = BOS, []
        for pos_id in range(block_size):
            logits = gpt(token_id, pos_id, keys, values)[0]
            probs = softmax([logit * temperature ** -1 for logit in logits])  # as Value divides
            token_id = random.choices(range(vocab_size), weights=probs)[0]
            if token_id == BOS:
                break
            chars.append(uchars[token_id])
        print(f"sample {sample_idx + 1:2d}: {''.join(chars)}")
