"""Draw the lessons' pictures from the model itself, as SVG files in progression/pictures/.

    python3 progression/pictures.py          # measure (trains every rung: minutes), then draw
    python3 progression/pictures.py --draw   # draw again from the numbers in pictures/numbers.json

Measuring trains microgpt.py as `python microgpt.py` does, noting each step's loss and, every 100
steps, the loss on the 500 names tests/experiment.py holds out; then it reads "olivia" with the
trained model, noting what each attention head looks at and the numbers one token passes through; it
works out L = a * b + a with the file's own Value; and it trains every rung for its held-out loss.
The numbers are rounded to 4 decimals, so every Python measures the same file, and drawing the same
numbers gives the same bytes (tests/test_pictures.py checks both).
Standard library only; open the SVG files in any browser.
"""

import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(HERE, 'pictures')
NUMBERS = os.path.join(OUT, 'numbers.json')
HELD_OUT = 500  # the last 500 names after the shuffle, as tests/experiment.py holds them out
WORD = 'olivia'
RUNGS = [f'progression/train{i}.py' for i in range(5)] + ['microgpt.py']


# --- Measuring ---


def measuring():
    """tests/checks.py and tests/experiment.py, which load a file and run its __main__ block."""
    tests = os.path.join(ROOT, 'tests')
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import checks
    import experiment
    return checks, experiment


def load(path):
    """The module a file of the ladder defines, as an import gives it: built, not trained."""
    checks, _ = measuring()
    return checks.Copy(os.path.join(ROOT, path)).load(ROOT)  # a rung reads input.txt from ROOT


def value_of(loss):  # a Value, a plain number (train0), or a number with its gradients (train1)
    loss = loss[0] if isinstance(loss, tuple) else loss
    return getattr(loss, 'data', loss)


def train(mg, every=None):
    """Train as the script does, running its __main__ block up to its sampling (a step is a call
    of document_loss from the block's training loop, as tests/experiment.py counts them): each
    step's loss, and {step: held-out loss} every `every` steps, before that step's update."""
    _, experiment = measuring()
    real = mg.document_loss
    evaluate = lambda: round(sum(value_of(real(doc)) for doc in mg.docs[-HELD_OUT:]) / HELD_OUT, 4)
    losses, _, held_out = experiment.train(mg, ROOT, every, evaluate)
    return losses, held_out


def read_word(mg, word):
    """Feed word to the trained model, a token at a time, and note what gpt() computes: each head's
    attention weights at each position, and the vectors one token (the word's last) passes through.
    """
    calls, real = [], {name: getattr(mg, name) for name in ('linear', 'rmsnorm', 'softmax')}
    for name, function in real.items():

        def recording(*args, name=name, function=function):
            out = function(*args)
            calls.append(
                (name, [round(v.data, 4) for v in args[0]], [round(v.data, 4) for v in out])
            )
            return out

        setattr(mg, name, recording)
    tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in word]
    keys, values = [[] for _ in range(mg.n_layer)], [[] for _ in range(mg.n_layer)]
    attention, path = [[] for _ in range(mg.n_head)], []
    for pos_id, token_id in enumerate(tokens):
        calls.clear()
        logits = mg.gpt(token_id, pos_id, keys, values)
        weights = [
            out for name, _, out in calls if name == 'softmax'
        ]  # a softmax a head, over the cache
        for h in range(mg.n_head):
            attention[h].append(weights[h])
        path = list(calls)
    for name, function in real.items():
        setattr(mg, name, function)
    probs = [round(p.data, 4) for p in mg.softmax(logits)]
    return attention, {'calls': path, 'probs': probs}


def cache_gradients(mg, word):
    """The loss at the word's last position alone (its next token is BOS: the end), run backward
    through the trained model: the length of the gradient each cached key and value receives, at
    each position, in the last layer."""
    tokens = [mg.BOS] + [mg.uchars.index(ch) for ch in word]
    keys, values = [[] for _ in range(mg.n_layer)], [[] for _ in range(mg.n_layer)]
    for pos_id, token_id in enumerate(tokens):
        logits = mg.gpt(token_id, pos_id, keys, values)
    loss = -mg.softmax(logits)[mg.BOS].log()
    loss.backward()
    length = lambda vector: round(sum(v.grad ** 2 for v in vector) ** 0.5, 4)
    shares = {'key': [length(k) for k in keys[-1]], 'value': [length(v) for v in values[-1]]}
    for p in mg.params:
        p.grad = 0
    return dict(shares, word=word, loss=round(loss.data, 4))


def worked_graph():
    """L = a * b + a, with the file's own Value: each node's data and grad after L.backward()."""
    mg = load('microgpt.py')
    a, b = mg.Value(2.0), mg.Value(-3.0)
    c = a * b
    L = c + a
    L.backward()
    return {name: [node.data, node.grad] for name, node in [('a', a), ('b', b), ('c', c), ('L', L)]}


def measure():
    numbers = {'value_graph': worked_graph()}
    mg = load('microgpt.py')
    losses, held_out = train(mg, every=100)
    numbers['loss_curve'] = {
        'losses': [round(x, 4) for x in losses],
        'held_out': {str(step): loss for step, loss in held_out.items()},
    }
    attention, path = read_word(mg, WORD)
    numbers['attention'] = {'word': WORD, 'heads': attention}
    numbers['token_path'] = dict(path, word=WORD, vocab=mg.uchars + ['BOS'])
    numbers['cache'] = cache_gradients(mg, WORD)
    numbers['ladder'] = {}
    for rung in RUNGS:
        print(f'training {rung}', file=sys.stderr, flush=True)
        rung_mg = load(rung)
        train(rung_mg)
        numbers['ladder'][rung] = round(
            sum(value_of(rung_mg.document_loss(doc)) for doc in rung_mg.docs[-HELD_OUT:])
            / HELD_OUT,
            4,
        )
    return numbers


# --- Drawing ---

FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def svg(width, height, body, title):
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' {FONT} font-size='13'>\n<title>{escape(title)}</title>\n"
        f"<rect width='{width}' height='{height}' fill='white'/>\n" + ''.join(body) + '</svg>\n'
    )


def escape(text):
    return str(text).replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def text(x, y, words, size=13, anchor='start', weight='normal', fill='#222'):
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' "
        f"font-weight='{weight}' fill='{fill}'>{escape(words)}</text>\n"
    )


def title(width, words, y=26, size=16):  # a picture's heading, centred over it
    return text(width / 2, y, words, size, 'middle', 'bold')


def caption(width, y, words):  # how to read the picture: a grey line, centred
    return text(width / 2, y, words, 12, 'middle', fill='#444')


def line(x1, y1, x2, y2, stroke='#222', width=1.0, dash=''):
    dashes = f" stroke-dasharray='{dash}'" if dash else ''
    return (
        f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' stroke='{stroke}' "
        f"stroke-width='{width}'{dashes}/>\n"
    )


def rect(x, y, w, h, fill, stroke='none'):
    return (f"<rect x='{x:.1f}' y='{y:.1f}' width='{w:.1f}' height='{h:.1f}' fill='{fill}' "
            f"stroke='{stroke}'/>\n")


def shade(value, most):
    """A colour for a number: blue above 0, red below, paler near 0 (white at 0)."""
    t = min(1.0, abs(value) / most) if most else 0.0
    r, g, b = (33, 102, 172) if value >= 0 else (178, 24, 43)
    mix = lambda c: round(255 + (c - 255) * t)
    return f'#{mix(r):02x}{mix(g):02x}{mix(b):02x}'


def loss_curve(numbers):
    losses, held_out = numbers['losses'], {int(k): v for k, v in numbers['held_out'].items()}
    width, height, left, right, top, bottom = 720, 440, 70, 30, 110, 60
    lo, hi, steps = 1.5, 4.0, len(losses)  # every step's loss falls within
    x = lambda step: left + (width - left - right) * step / steps
    y = lambda loss: top + (height - top - bottom) * (hi - loss) / (hi - lo)
    body = [
        title(width, 'Loss while microgpt.py trains (seed 42, the names)', y=28)
    ]
    for loss in [1.5, 2.0, 2.5, 3.0, 3.5, 4.0]:
        body += [
            line(left, y(loss), width - right, y(loss), '#ddd'),
            text(left - 8, y(loss) + 4, f'{loss:.1f}', 12, 'end'),
        ]
    for step in range(0, steps + 1, 200):
        body += [
            line(x(step), height - bottom, x(step), height - bottom + 5),
            text(x(step), height - bottom + 20, step, 12, 'middle'),
        ]
    body += [
        line(left, height - bottom, width - right, height - bottom),
        line(left, top, left, height - bottom),
        text(width / 2, height - 16, 'training step', 13, 'middle'),
        f"<text x='18' y='{(top + height - bottom) / 2:.1f}' font-size='13' text-anchor='middle' "
        f"transform='rotate(-90 18 {(top + height - bottom) / 2:.1f})'>"
        "loss (lower: less surprised)</text>\n",
    ]
    uniform = math.log(27)
    body += [
        line(left, y(uniform), width - right, y(uniform), '#888', 1, '6 4'),
        text(
            width - right - 4,
            y(uniform) - 6,
            f'a uniform guess: ln 27 = {uniform:.2f}',
            12,
            'end',
            fill='#555',
        ),
    ]
    for step in range(steps):  # each step's loss, one name's: it jumps about
        body.append(
            f"<circle cx='{x(step + 0.5):.1f}' cy='{y(losses[step]):.1f}' r='1' "
            f"fill='#9ecae1'/>\n"
        )
    block = 50
    means = [(i + block / 2, sum(losses[i : i + block]) / block) for i in range(0, steps, block)]
    body.append(
        "<polyline fill='none' stroke='#08519c' stroke-width='2.5' points='"
        + ' '.join(f'{x(s):.1f},{y(m):.1f}' for s, m in means)
        + "'/>\n"
    )
    body.append(
        "<polyline fill='none' stroke='#d94801' stroke-width='2.5' points='"
        + ' '.join(f'{x(s):.1f},{y(m):.1f}' for s, m in sorted(held_out.items()))
        + "'/>\n"
    )
    body += [
        f"<circle cx='{x(s):.1f}' cy='{y(m):.1f}' r='3.5' fill='#d94801'/>\n"
        for s, m in sorted(held_out.items())
    ]
    last_train, last_held = means[-1][1], held_out[steps]
    body += [
        text(
            left,
            52,
            '\u25cf each step: the loss on that step\u2019s one name, so it jumps about',
            12,
            fill='#4a90c2',
        ),
        text(
            left,
            70,
            f'\u2014 the mean of each {block} steps (the last {block}: {last_train:.2f})',
            12,
            fill='#08519c',
        ),
        text(
            left,
            88,
            f'\u2014 the loss on 500 names it never trains on, every 100 steps (at the end: '
            f'{last_held:.2f})',
            12,
            fill='#d94801',
        ),
    ]
    return svg(width, height, body, 'The loss of microgpt.py as it trains')


def attention(numbers):
    word, heads = numbers['word'], numbers['heads']
    labels = ['BOS'] + list(word)
    n, cell, gap = len(labels), 34, 50
    panel = n * cell
    width = 60 + len(heads) * (panel + gap)
    height = panel + 150
    body = [
        title(width, f'What each attention head looks at while the trained model reads "{word}"'),
        caption(
            width,
            46,
            'a row per position being read; along it, the share of attention each earlier '
            'position gets (the row sums to 1)'
        ),
    ]
    for h, rows in enumerate(heads):
        left, top = 50 + h * (panel + gap), 90
        body.append(text(left + panel / 2, top - 14, f'head {h}', 13, 'middle', 'bold'))
        for i, row in enumerate(rows):
            body.append(text(left - 6, top + i * cell + cell / 2 + 4, labels[i], 12, 'end'))
            for j in range(n):
                if j <= i:
                    weight = row[j]
                    body.append(
                        rect(
                            left + j * cell, top + i * cell, cell, cell, shade(weight, 1.0), '#fff'
                        )
                    )
                    body.append(
                        text(
                            left + j * cell + cell / 2,
                            top + i * cell + cell / 2 + 4,
                            f'{weight:.2f}'.lstrip('0'),
                            10,
                            'middle',
                            fill='#fff' if weight > 0.5 else '#222',
                        )
                    )
                else:
                    body.append(
                        rect(left + j * cell, top + i * cell, cell, cell, '#f4f4f4', '#fff')
                    )
        for j in range(n):
            body.append(text(left + j * cell + cell / 2, top + panel + 16, labels[j], 12, 'middle'))
    body.append(
        caption(
            width,
            height - 14,
            'grey: later positions, which the cache does not hold yet, so no '
            'head can look at them'
        )
    )
    return svg(width, height, body, f'Attention of the trained model reading {word}')


def value_graph(numbers):
    nodes = {name: (data, grad) for name, (data, grad) in numbers.items()}
    width, height = 820, 360
    place = {'a': (110, 110), 'b': (110, 260), 'c': (420, 185), 'L': (700, 185)}
    w, h = 150, 64
    body = [
        title(
            width,
            'L = a * b + a, worked by Value: each node\u2019s data, and after L.backward(), '
            'its grad', y=28, size=15
        )
    ]
    edges = [
        ('a', 'c', f'\u2202c/\u2202a = b = {nodes["b"][0]:g}'),
        ('b', 'c', f'\u2202c/\u2202b = a = ' f'{nodes["a"][0]:g}'),
        ('c', 'L', '\u2202L/\u2202c = 1'),
        ('a', 'L', '\u2202L/\u2202a = 1'),
    ]
    body.append(
        "<defs><marker id='head' markerWidth='10' markerHeight='8' refX='9' refY='4' orient='auto'>"
        "<path d='M0,0 L10,4 L0,8 z' fill='#555'/></marker></defs>\n"
    )
    for src, dst, label in edges:
        (x1, y1), (x2, y2) = place[src], place[dst]
        if (src, dst) == ('a', 'L'):  # over the top: a also goes straight into L
            body.append(
                f"<path d='M{x1 + w / 2:.1f},{y1 - 12:.1f} C{x1 + 260:.1f},{y1 - 80:.1f} "
                f"{x2 - 60:.1f},{y1 - 80:.1f} {x2:.1f},{y2 - h / 2 - 2:.1f}' fill='none' "
                "stroke='#555' "
                f"stroke-width='1.5' marker-end='url(#head)'/>\n"
            )
            body.append(
                text(
                    (x1 + x2) / 2 + 40,
                    y1 - 56,
                    label + ': a also goes straight into L',
                    12,
                    'middle',
                    fill='#555',
                )
            )
            continue
        body.append(
            f"<line x1='{x1 + w / 2:.1f}' y1='{y1:.1f}' x2='{x2 - w / 2 - 2:.1f}' y2='{y2:.1f}' "
            f"stroke='#555' stroke-width='1.5' marker-end='url(#head)'/>\n"
        )
        label_y = {
            ('a', 'c'): (y1 + y2) / 2 - 14,
            ('b', 'c'): (y1 + y2) / 2 + 26,
            ('c', 'L'): y1 - 10,
        }[(src, dst)]
        label_x = (x1 + x2) / 2 + (12 if src != 'c' else 0)
        body.append(
            text(label_x, label_y, label, 12, 'start' if src != 'c' else 'middle', fill='#555')
        )
    names = {'a': 'a', 'b': 'b', 'c': 'c = a * b', 'L': 'L = c + a'}
    for name, (x, y) in place.items():
        data, grad = nodes[name]
        body.append(
            f"<rect x='{x - w / 2:.1f}' y='{y - h / 2:.1f}' width='{w}' height='{h}' rx='8' "
            f"fill='#f7fbff' stroke='#08519c' stroke-width='1.5'/>\n"
        )
        body += [
            text(x, y - 12, names[name], 14, 'middle', 'bold'),
            text(x, y + 6, f'data {data:g}', 12, 'middle'),
            text(x, y + 22, f'grad {grad:g}', 12, 'middle', fill='#d94801'),
        ]
    body.append(
        caption(
            width,
            height - 42,
            'a.grad = 1 (straight into L) + b \u00d7 c.grad = 1 - 3 = -2: '
            'the paths from L to a add up, hence += in backward()'
        )
    )
    body.append(
        caption(width, height - 20, 'b.grad = a \u00d7 c.grad = 2: through c only')
    )
    return svg(width, height, body, 'The worked graph of L = a * b + a')


def token_path(numbers):
    """One token through gpt(): the numbers at each stage, each a strip of coloured cells."""
    calls, word = numbers['calls'], numbers['word']
    names = [name for name, _, _ in calls]
    heads = [out for name, _, out in calls if name == 'softmax']
    assert names == ['rmsnorm', 'rmsnorm', 'linear', 'linear', 'linear'] + ['softmax'] * len(
        heads
    ) + [
        'linear',
        'rmsnorm',
        'linear',
        'linear',
        'linear',
    ], names  # microgpt.py's gpt(), one layer
    wo, norm, fc1, fc2, lm_head = calls[5 + len(heads) :]
    stages = [
        ('wte[token] + wpe[position]', 'what the token is, plus where it stands', calls[0][1]),
        (
            'rmsnorm',
            'the same, rescaled to a root-mean-square of 1: the residual stream',
            calls[0][2],
        ),
        ('rmsnorm, then attn_wq: the query', 'what this position looks for', calls[2][2]),
        ('attn_wk: the key', 'what it offers to later positions: it joins the cache', calls[3][2]),
        (
            'attn_wv: the value',
            'what it passes on when attended to: it joins the cache too',
            calls[4][2],
        ),
    ]
    for h, weights in enumerate(heads):
        stages.append(
            (
                f'head {h}: attention over the cache',
                f'its weights on the {len(weights)} cached ' f'positions (BOS, {", ".join(word)})',
                weights,
            )
        )
    stages += [
        ('the heads\u2019 mixes of values', 'four slices of 4, side by side', wo[1]),
        ('attn_wo, + the residual', 'mapped back, and added to the stream', norm[1]),
        (
            'rmsnorm, mlp_fc1, relu',
            'four times wider, each token on its own: relu zeroes the negatives',
            fc2[1],
        ),
        ('mlp_fc2, + the residual', 'back to 16, and added to the stream', lm_head[1]),
        (
            'lm_head: the logits',
            'a score for each of the 27 tokens that could come next',
            lm_head[2],
        ),
        ('softmax: the probabilities', 'the next token is drawn from these', numbers['probs']),
    ]
    cell, left, label_w, top, row_h = 13, 30, 440, 70, 44
    width = left + label_w + 64 * cell + 20
    height = top + row_h * len(stages) + 30
    body = [
        title(
            width,
            f'One token through gpt(): the last "{word[-1]}" of "{word}", read by the '
            f'trained model'
        ),
        caption(
            width,
            46,
            'each strip is the list of numbers at that stage, a cell a number: blue above 0, red '
            'below, white near 0 (each strip on its own scale)'
        ),
    ]
    for i, (name, why, vector) in enumerate(stages):
        y = top + i * row_h
        body += [
            text(left, y + 12, name, 13, weight='bold'),
            text(left, y + 28, why, 11, fill='#555'),
        ]
        most = max(abs(v) for v in vector) or 1
        for j, v in enumerate(vector):
            body.append(
                rect(left + label_w + j * cell, y + 4, cell - 1, 22, shade(v, most), '#e4e4e4')
            )
        note = None  # beside the strip: the likeliest tokens, or every attention share
        if name.startswith('softmax'):
            best = sorted(range(len(vector)), key=lambda t: -vector[t])[:3]
            note = ', '.join(f'{numbers["vocab"][t]} {vector[t]:.2f}' for t in best)
        elif 'attention' in name:
            note = ' '.join(f'{v:.2f}' for v in vector)
        if note:
            body.append(text(left + label_w + len(vector) * cell + 8, y + 20, note, 11))
    return svg(width, height, body, 'One token through gpt()')


def ladder(numbers):
    rungs = [rung for rung in RUNGS if rung in numbers]
    labels = {
        'progression/train0.py': 'train0: counts',
        'progression/train1.py': 'train1: MLP, by hand',
        'progression/train2.py': 'train2: autograd',
        'progression/train3.py': 'train3: attention',
        'progression/train4.py': 'train4: heads, layers',
        'microgpt.py': 'microgpt: Adam',
    }
    width, height, left, top, bar_h, gap = 760, 70 + 44 * (len(rungs) + 1) + 40, 190, 70, 30, 14
    lo, hi = 2.2, 3.75
    x = lambda loss: left + (width - left - 40) * (loss - lo) / (hi - lo)
    body = [
        title(width, 'The ladder: the loss on 500 names no rung trained on (lower is better)'),
        caption(width, 46, 'each rung trained for 1,000 steps, a name a step, seed 42 '
                           '(the axis starts at 2.2)'),
    ]
    rows = [('a uniform guess', math.log(27))] + [(labels.get(r, r), numbers[r]) for r in rungs]
    for i, (label, loss) in enumerate(rows):
        y = top + i * (bar_h + gap)
        body += [
            text(left - 10, y + bar_h / 2 + 4, label, 13, 'end'),
            rect(left, y, x(loss) - left, bar_h, '#bdbdbd' if i == 0 else '#4292c6'),
            text(
                x(loss) + 6,
                y + bar_h / 2 + 4,
                f'{loss:.3f}  (as unsure as {math.exp(loss):.1f} of 27)',
                12,
            ),
        ]
    axis = top + len(rows) * (bar_h + gap)
    body.append(line(left, axis, width - 40, axis))
    for tick in [2.2, 2.4, 2.6, 2.8, 3.0, 3.2, 3.4]:
        body += [
            line(x(tick), axis, x(tick), axis + 5),
            text(x(tick), axis + 19, f'{tick:.1f}', 11, 'middle'),
        ]
    return svg(width, height, body, 'Held-out loss per rung of the ladder')


def cache(numbers):
    word, keys, values = numbers['word'], numbers['key'], numbers['value']
    labels = ['BOS'] + list(word)
    n, column = len(labels), 96
    width, left, base, tall = 80 + n * column, 40, 250, 140
    most = max(keys + values)
    last = left + (n - 1) * column + column / 2
    body = [
        title(width, 'One position\'s loss, back through the cache'),
        caption(width, 48, f'the trained model reads "{word}"; the loss at its last position alone '
                f'is {numbers["loss"]:.2f}, its surprise that the name ends there'),
        caption(width, 66, 'a bar: the length of the gradient that loss gives a cached key (k) or '
                'value (v); a curve: its way back'),
    ]
    for t, label in enumerate(labels):
        x = left + t * column + column / 2
        share = (keys[t] + values[t]) / (2 * most)
        if t < n - 1:  # the way back from the last position's loss to t: as wide as its share
            low = base + 50 + 12 * (n - 1 - t)
            body.append(f"<path d='M {last:.1f} {base + 44} C {last:.1f} {low}, {x:.1f} {low}, "
                        f"{x:.1f} {base + 44}' fill='none' stroke='#c0392b' stroke-opacity='0.55' "
                        f"stroke-width='{0.5 + 9 * share:.2f}'/>\n")
        for k, (name, value, colour) in enumerate([('k', keys[t], '#2e6da4'),
                                                   ('v', values[t], '#e08a1e')]):
            h = tall * value / most
            bx = x - 22 + k * 24
            body.append(rect(bx, base - h, 20, h, colour))
            body.append(text(bx + 10, base - h - 5, f'{value:.3f}'.lstrip('0'), 10, 'middle'))
            body.append(text(bx + 10, base + 14, name, 11, 'middle', fill=colour))
        body.append(rect(x - 26, base + 20, 52, 22, '#fbe9e7' if t == n - 1 else '#f1f1f1', '#999'))
        body.append(text(x, base + 35, label, 13, 'middle', 'bold' if t == n - 1 else 'normal'))
    body.append(line(left, base, left + n * column, base, '#999'))
    bottom = base + 50 + 12 * n + 24
    body.append(caption(width, bottom, 'every earlier position gets a share: through its key (the '
                        'last query attends to it) and its value (what it passed on)'))
    body.append(caption(width, bottom + 18, 'backward adds up these shares from the last position '
                        'to the first: progression/by_hand.py writes that out by hand'))
    return svg(width, bottom + 34, body, 'The gradient of one position\'s loss through the cache')


PICTURES = {
    'loss_curve.svg': ('loss_curve', loss_curve),
    'attention.svg': ('attention', attention),
    'value_graph.svg': ('value_graph', value_graph),
    'token_path.svg': ('token_path', token_path),
    'ladder.svg': ('ladder', ladder),
    'cache.svg': ('cache', cache),
}


def draw(numbers):
    """{file name: its SVG text}, from the numbers."""
    return {name: function(numbers[key]) for name, (key, function) in PICTURES.items()}


if __name__ == '__main__':
    if '--draw' in sys.argv[1:]:
        with open(NUMBERS, encoding='utf-8') as f:
            numbers = json.load(f)
    else:
        numbers = measure()
        os.makedirs(OUT, exist_ok=True)
        with open(NUMBERS, 'w', encoding='utf-8') as f:
            json.dump(numbers, f, indent=1, sort_keys=True)
            f.write('\n')
    for name, picture in draw(numbers).items():
        with open(os.path.join(OUT, name), 'w', encoding='utf-8') as f:
            f.write(picture)
        print(f'progression/pictures/{name}')
