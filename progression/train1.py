"""train1: an MLP, its gradients worked out by hand, trained by gradient descent.
It adds: weights, a forward pass, the chain rule written out (and checked numerically), SGD.
It still lacks: autograd (train2), attention (train3), heads and layers (train4), Adam."""
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
n_embd = 16      # width: the length of every token's vector
block_size = 16  # the longest name it trains on or samples (the longest name has 15 characters)

def matrix(nout, nin, std=0.08):  # row i: the weights of output i
    return [[random.gauss(0, std) for _ in range(nin)] for _ in range(nout)]
state_dict = {'wte': matrix(vocab_size, n_embd), 'lm_head': matrix(vocab_size, n_embd)}
state_dict['mlp_fc1'] = matrix(4 * n_embd, n_embd)
state_dict['mlp_fc2'] = matrix(n_embd, 4 * n_embd)
print(f"num params: {sum(len(mat) * len(mat[0]) for mat in state_dict.values())}")

# Model: an MLP that sees only the current token, and scores every token that could come next
def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(wo, x)) for wo in w]

def softmax(logits):
    max_val = max(logits)  # subtracting the largest keeps exp() small
    exps = [math.exp(val - max_val) for val in logits]
    total = sum(exps)
    return [e / total for e in exps]

def mlp(token_id):  # the logits, and what the backward pass needs: each layer's input
    x = state_dict['wte'][token_id]  # what the token is
    # MLP: each token thinks on its own, in a space four times wider
    h = linear(x, state_dict['mlp_fc1'])
    r = [max(0, hi) for hi in h]  # relu
    y = linear(r, state_dict['mlp_fc2'])
    return linear(y, state_dict['lm_head']), (x, h, r, y)  # logits: a score for each token

# Gradients by hand: the chain rule, written out layer by layer from the loss back to each weight
def linear_backward(d_out, x, w, d_w):  # out[i] = sum over j of w[i][j] * x[j]
    for i, d in enumerate(d_out):
        for j, xj in enumerate(x):
            d_w[i][j] += d * xj  # d out[i] / d w[i][j] = x[j]; += because each position adds
    return [sum(d * row[j] for d, row in zip(d_out, w)) for j in range(len(x))]  # d / d x[j]

# Training: each step nudges every weight to make one document less surprising
def document_loss(doc):  # the model's mean surprise at each next token of doc, and its gradient
    tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]  # BOS at both ends
    n = min(block_size, len(tokens) - 1)  # the last token has no next token to predict
    grads = {name: [[0.0] * len(mat[0]) for _ in mat] for name, mat in state_dict.items()}
    losses = []
    for pos_id in range(n):
        token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
        logits, (x, h, r, y) = mlp(token_id)
        probs = softmax(logits)
        losses.append(-math.log(probs[target_id]))  # cross-entropy: surprise at the true next token
        # backward: -log p[target] is log(sum of exp(logits)) - logits[target], so its slope
        # with respect to logit i is probs[i], less 1 for the target; / n, as the loss is a mean
        d_logits = [(p - (i == target_id)) / n for i, p in enumerate(probs)]
        d_y = linear_backward(d_logits, y, state_dict['lm_head'], grads['lm_head'])
        d_r = linear_backward(d_y, r, state_dict['mlp_fc2'], grads['mlp_fc2'])
        d_h = [d * (hi > 0) for d, hi in zip(d_r, h)]  # relu: slope 1 above 0, and 0 below
        d_x = linear_backward(d_h, x, state_dict['mlp_fc1'], grads['mlp_fc1'])
        for j, d in enumerate(d_x):
            grads['wte'][token_id][j] += d
    return (1 / n) * sum(losses), grads

# Gradient check: nudge a weight each way and watch the loss; the chain rule must agree
def gradient_check(doc, nudge=1e-6):
    loss, grads = document_loss(doc)
    pick = random.Random(0)  # its own random numbers: the model's draws stay as they are
    largest = 0
    for name, mat in state_dict.items():
        for _ in range(10):
            i, j = pick.randrange(len(mat)), pick.randrange(len(mat[0]))
            weight = mat[i][j]
            mat[i][j] = weight + nudge
            up = document_loss(doc)[0]
            mat[i][j] = weight - nudge
            down = document_loss(doc)[0]
            mat[i][j] = weight
            largest = max(largest, abs((up - down) / (2 * nudge) - grads[name][i][j]))
    return largest

if __name__ == '__main__':  # a script or notebook cell trains, then samples; an import skips this
    print(f"gradient check: largest difference {gradient_check(docs[0]):.1e}")
    num_steps = 1000  # one document a step
    learning_rate = 0.5  # how far each weight moves against its gradient, at first
    for step in range(num_steps):
        # 1) Forward and 2) backward: one document's loss, and its gradient for every weight
        loss, grads = document_loss(docs[step % len(docs)])
        # 3) Update: gradient descent. A weight's gradient says how the loss changes as the weight
        # grows; a small step the other way makes the document a little less surprising. The
        # learning rate, the size of that step, decays linearly to 0 over the run
        lr_t = learning_rate * (1 - step / num_steps)
        for name, mat in state_dict.items():
            for row, grad_row in zip(mat, grads[name]):
                for j, g in enumerate(grad_row):
                    row[j] -= lr_t * g
        print(f"step {step + 1:4d} / {num_steps:4d} | loss {loss:.4f}", end='\r')

    # Sampling (inference): from BOS, feed each token back in until the model says BOS
    temperature = 0.5  # above 0: lower plays it safe; 1 uses the model's probabilities as they are
    assert temperature > 0, f"temperature ({temperature}) must be above 0"
    print("\n--- inference (new, hallucinated names) ---")
    for sample_idx in range(20):
        token_id, chars = BOS, []
        for pos_id in range(block_size):
            logits = mlp(token_id)[0]
            probs = softmax([logit / temperature for logit in logits])
            token_id = random.choices(range(vocab_size), weights=probs)[0]
            if token_id == BOS:
                break
            chars.append(uchars[token_id])
        print(f"sample {sample_idx + 1:2d}: {''.join(chars)}")
