"""train0: a bigram count table: the next character is drawn by how often it followed this one.
It adds: the dataset, the tokenizer, a loss to measure the model by, training and sampling loops.
It still lacks: weights learned by gradients (train1), and everything built on them."""
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

# Parameters: a table of counts, a row per token: how often each token has come next after it
block_size = 16  # the longest name it trains on or samples (the longest name has 15 characters)
counts = [[1] * vocab_size for _ in range(vocab_size)]  # from 1, not 0: nothing is impossible
print(f"num params: {vocab_size * vocab_size}")

# Model: the counts after the current token, as logits (log counts) that softmax turns back
def softmax(logits):
    max_val = max(logits)  # subtracting the largest keeps exp() small
    exps = [math.exp(val - max_val) for val in logits]
    total = sum(exps)
    return [e / total for e in exps]

def bigram(token_id):
    return [math.log(count) for count in counts[token_id]]  # logits: a score for each token

# Training: each step nudges every weight to make one document less surprising
def document_loss(doc):  # the model's mean surprise at each next token of doc
    tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]  # BOS at both ends
    n = min(block_size, len(tokens) - 1)  # the last token has no next token to predict
    losses = []
    for pos_id in range(n):
        token_id, target_id = tokens[pos_id], tokens[pos_id + 1]
        probs = softmax(bigram(token_id))
        losses.append(-math.log(probs[target_id]))  # cross-entropy: surprise at the true next token
    return (1 / n) * sum(losses)

if __name__ == '__main__':  # a script or notebook cell trains, then samples; an import skips this
    num_steps = 1000  # one document a step
    for step in range(num_steps):
        doc = docs[step % len(docs)]
        # 1) Forward: how surprised the table is by this document, before it has seen it
        loss = document_loss(doc)
        # 2) Update: count each pair in it. The table learns by counting, not by gradients
        tokens = [BOS] + [uchars.index(ch) for ch in doc] + [BOS]
        for token_id, target_id in zip(tokens, tokens[1:]):
            counts[token_id][target_id] += 1
        print(f"step {step + 1:4d} / {num_steps:4d} | loss {loss:.4f}", end='\r')

    # Sampling (inference): from BOS, feed each token back in until the model says BOS
    temperature = 0.5  # above 0: lower plays it safe; 1 uses the model's probabilities as they are
    assert temperature > 0, f"temperature ({temperature}) must be above 0"
    print("\n--- inference (new, hallucinated names) ---")
    for sample_idx in range(20):
        token_id, chars = BOS, []
        for pos_id in range(block_size):
            logits = bigram(token_id)
            probs = softmax([logit / temperature for logit in logits])
            token_id = random.choices(range(vocab_size), weights=probs)[0]
            if token_id == BOS:
                break
            chars.append(uchars[token_id])
        print(f"sample {sample_idx + 1:2d}: {''.join(chars)}")
