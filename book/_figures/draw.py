"""The book's diagrams, drawn as SVG text from this file (no dependency beyond Python).

`python book/_figures/draw.py` writes every figure to book/figures/NAME.svg;
tests/test_figures.py checks that the committed files are what this file draws.

Each figure is a function returning one SVG document. Every document has an opaque
white background, so it reads the same in the book's light and dark themes, and a
<title> and <desc> that screen readers announce (the chapters' alt text says the same).
Coordinates are in SVG user units; `width` is scaled to the column by CSS.
"""

from html import escape
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "figures"

INK = "#222222"        # lines and text
MUTED = "#6b6b6b"      # shapes, notes
C_PATH = "#1f6fb2"     # the cell state c and its gradient
H_PATH = "#c0500a"     # the hidden state h
GRAD = "#b3122e"       # gradients flowing back
FILL = {"sigma": "#fde8c8", "tanh": "#d8ecd2", "op": "#ffffff", "cell": "#eef3fa",
        "pad": "#e6e6e6", "data": "#f6f0ff", "note": "#fafafa"}
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


# --- primitives: each returns a fragment of SVG text --------------------------------

def text(x, y, s, size=14, color=INK, anchor="middle", weight="normal", italic=False):
    style = " font-style='italic'" if italic else ""
    return (f"<text x='{x:g}' y='{y:g}' font-size='{size}' fill='{color}' "
            f"text-anchor='{anchor}' font-weight='{weight}'{style}>{escape(s)}</text>")


def box(x, y, w, h, label="", fill=FILL["op"], stroke=INK, size=14, rx=6, dash=False,
        color=INK):
    """A rectangle with its top-left corner at (x, y), the label centred in it."""
    dashes = " stroke-dasharray='5 4'" if dash else ""
    out = (f"<rect x='{x:g}' y='{y:g}' width='{w:g}' height='{h:g}' rx='{rx}' "
           f"fill='{fill}' stroke='{stroke}' stroke-width='1.5'{dashes}/>")
    if label:
        out += text(x + w / 2, y + h / 2 + size * 0.35, label, size, color)
    return out


def op(x, y, symbol, r=13):
    """A pointwise operation (×, +, tanh) drawn as a circle centred at (x, y)."""
    size = 16 if len(symbol) == 1 else 10
    return (f"<circle cx='{x:g}' cy='{y:g}' r='{r}' fill='{FILL['op']}' stroke='{INK}' "
            f"stroke-width='1.5'/>" + text(x, y + size * 0.35, symbol, size))


def arrow(points, color=INK, width=1.8, dash=False, head=True):
    """A polyline through `points` [(x, y), ...], with an arrowhead at the last point."""
    d = " ".join(f"{x:g},{y:g}" for x, y in points)
    marker = f" marker-end='url(#head-{color[1:]})'" if head else ""
    dashes = " stroke-dasharray='6 4'" if dash else ""
    return (f"<polyline points='{d}' fill='none' stroke='{color}' stroke-width='{width}'"
            f"{dashes}{marker}/>")


def svg(name, width, height, title, desc, body):
    """A whole SVG document: white background, arrowheads for every colour used."""
    colors = sorted({INK, C_PATH, H_PATH, GRAD, MUTED})
    heads = "".join(
        f"<marker id='head-{c[1:]}' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='10' "
        f"markerHeight='10' markerUnits='userSpaceOnUse' orient='auto-start-reverse'>"
        f"<path d='M0,0 L10,5 L0,10 z' "
        f"fill='{c}'/></marker>" for c in colors)
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role='img' aria-labelledby='{name}-title "
            f"{name}-desc' {FONT}>\n"
            f"<title id='{name}-title'>{escape(title)}</title>\n"
            f"<desc id='{name}-desc'>{escape(desc)}</desc>\n"
            f"<defs>{heads}</defs>\n"
            f"<rect width='100%' height='100%' fill='#ffffff'/>\n"
            + "\n".join(body) + "\n</svg>\n")


# --- the figures ----------------------------------------------------------------------

def rnn_unrolled():
    body = [text(95, 28, "folded", 13, MUTED), text(520, 28, "unrolled over T steps", 13, MUTED)]
    # Folded: one cell with a loop on h.
    body += [box(60, 110, 70, 50, "RNN", FILL["cell"]),
             arrow([(95, 215), (95, 162)]), text(95, 232, "xₜ (B, I)", 13),
             arrow([(95, 108), (95, 60)]), text(95, 50, "hₜ (B, H)", 13),
             arrow([(130, 125), (165, 125), (165, 85), (25, 85), (25, 145), (58, 145)], H_PATH),
             text(175, 105, "hₜ₋₁", 13, H_PATH, "start"),
             text(215, 140, "=", 28)]
    x0 = 300
    for k in range(4):
        x = x0 + k * 140
        body += [box(x, 110, 70, 50, "RNN", FILL["cell"]),
                 arrow([(x + 35, 215), (x + 35, 162)]),
                 text(x + 35, 232, ["x₁", "x₂", "x₃", "x_T"][k], 13),
                 arrow([(x + 35, 108), (x + 35, 60)]),
                 text(x + 35, 50, ["h₁", "h₂", "h₃", "h_T"][k], 13)]
        if k < 3:
            body.append(arrow([(x + 72, 135), (x + 138, 135)], H_PATH))
    body += [text(x0 + 3 * 140 - 35, 128, "…", 20, H_PATH),
             arrow([(245, 135), (x0 - 2, 135)], H_PATH), text(262, 126, "h₀", 13, H_PATH),
             text(520, 275, "one set of weights Wx (I, H), Wh (H, H), b (H,) shared by every step",
                  13, MUTED),
             text(520, 295, "hₜ = tanh(xₜ Wx + hₜ₋₁ Wh + b)", 14)]
    return svg("rnn_unrolled", 820, 310, "An RNN, folded and unrolled over time",
               "Left: one RNN cell whose output h_t loops back as its next input h_{t-1}. "
               "Right: the same cell drawn once per time step, x_1 to x_T entering from below, "
               "h_1 to h_T leaving above, and each step's hidden state passed right to the "
               "next step; all copies share the weights Wx, Wh and b.", body)


def lstm_cell():
    body = []
    # The cell's frame.
    body.append(box(120, 50, 520, 300, "", FILL["cell"], MUTED, rx=14))
    # c path along the top.
    cy = 95
    body += [arrow([(20, cy), (238, cy)], C_PATH, 2.6), text(60, cy - 12, "cₜ₋₁ (B, H)", 13, C_PATH),
             op(252, cy, "×"), arrow([(265, cy), (388, cy)], C_PATH, 2.6), op(402, cy, "+"),
             arrow([(415, cy), (740, cy)], C_PATH, 2.6), text(700, cy - 12, "cₜ (B, H)", 13, C_PATH)]
    # h path along the bottom, x entering from below.
    hy = 320
    body += [arrow([(20, hy), (110, hy), (110, 257), (133, 257)], H_PATH, 2.2),
             text(60, hy + 20, "hₜ₋₁ (B, H)", 13, H_PATH),
             arrow([(190, 395), (190, 276)], INK), text(190, 412, "xₜ (B, I)", 13),
             box(135, 240, 250, 34, "z = xₜ Wx + hₜ₋₁ Wh + b  (B, 4H)", FILL["note"], size=12)]
    # The four gate blocks.
    gates = [("f", "σ", 252, "forget"), ("i", "σ", 318, "input"), ("g", "tanh", 384, "candidate"),
             ("o", "σ", 530, "output")]
    for name, fn, x, _role in gates:
        fill = FILL["tanh"] if fn == "tanh" else FILL["sigma"]
        body += [arrow([(x if x < 400 else 260, 240), (x, 212)] if x < 400 else
                       [(385, 257), (x, 257), (x, 212)], INK, 1.4),
                 box(x - 26, 178, 52, 32, f"{name}: {fn}", fill, size=13)]
    body += [text(560, 300, "each gate (B, H)", 12, MUTED)]
    # f multiplies c; i and g meet at a ×, then go into +.
    body += [arrow([(252, 176), (252, 110)], INK, 1.4),
             op(351, 140, "×"), arrow([(318, 176), (318, 150), (338, 142)], INK, 1.4),
             arrow([(384, 176), (384, 150), (364, 142)], INK, 1.4),
             arrow([(361, 130), (394, 106)], INK, 1.4)]
    # The output: tanh(c) × o → h.
    body += [arrow([(470, cy), (470, 126)], C_PATH, 1.6), op(470, 140, "tanh", 16),
             arrow([(470, 157), (470, 250), (574, 250)], INK, 1.4),
             op(590, 250, "×"), arrow([(530, 176), (530, 164), (590, 164), (590, 236)], INK, 1.4),
             arrow([(603, 250), (620, 250), (620, hy), (740, hy)], H_PATH, 2.2),
             arrow([(620, 250), (620, 30), (680, 30)], H_PATH, 1.6),
             text(700, 24, "hₜ (output)", 13, H_PATH), text(700, hy + 20, "hₜ (B, H)", 13, H_PATH)]
    # Legend and weights.
    body += [text(380, 440, "Wx (I, 4H), Wh (H, 4H), b (4H,): column blocks i, f, g, o of width H",
                  13, MUTED),
             text(280, 462, "cₜ = fₜ ⊙ cₜ₋₁ + iₜ ⊙ gₜ", 14), text(500, 462, "hₜ = oₜ ⊙ tanh(cₜ)", 14)]
    return svg("lstm_cell", 760, 480, "The LSTM cell: four gate blocks, the cell state and the hidden state",
               "The cell state c_{t-1} (B, H) runs along the top: it is multiplied by the forget "
               "gate f and then the product of the input gate i and the candidate g is added, "
               "giving c_t (B, H). Below, x_t (B, I) and h_{t-1} (B, H) enter one affine map "
               "z = x_t Wx + h_{t-1} Wh + b of shape (B, 4H), whose four column blocks become "
               "f, i and o (sigmoids) and g (tanh), each (B, H). The output gate o multiplies "
               "tanh(c_t) to give h_t (B, H), which leaves the cell to the right and upwards. "
               "Wx is (I, 4H), Wh is (H, 4H), b is (4H,).", body)


def bptt_cec():
    body = [text(400, 26, "forward: the states flow right; backward: the gradients flow left",
                 13, MUTED)]
    xs = [90, 270, 450, 630]
    names = ["t−3", "t−2", "t−1", "t"]
    for k, x in enumerate(xs):
        body += [box(x - 40, 70, 80, 40, f"c {names[k]}", FILL["cell"], C_PATH, 13),
                 box(x - 40, 210, 80, 40, f"h {names[k]}", FILL["note"], H_PATH, 13)]
        if k:
            px = xs[k - 1]
            # Forward: c via × f and + i⊙g; h via W_h.
            body += [arrow([(px + 42, 82), (x - 42, 82)], C_PATH, 2.2),
                     text((px + x) / 2, 74, "× f", 12, C_PATH),
                     arrow([(px + 42, 222), (x - 42, 222)], H_PATH, 1.6),
                     arrow([(px + 30, 208), (x - 30, 112)], MUTED, 1.0),
                     # Backward along c: multiplied by f only, the carousel.
                     arrow([(x - 42, 100), (px + 42, 100)], GRAD, 2.6),
                     text((px + x) / 2, 124, "⊙ fₜ", 13, GRAD),
                     # Backward along h: through Wh and the gates' derivatives.
                     arrow([(x - 42, 240), (px + 42, 240)], GRAD, 1.4, dash=True),
                     text((px + x) / 2, 262, "· σ′, tanh′ · Whᵀ", 11, GRAD)]
    body += [text(400, 300, "∂L/∂cₜ₋₁ = ∂L/∂cₜ ⊙ fₜ + (terms through hₜ₋₁)", 14, GRAD),
             text(400, 322, "with f ≈ 1 the error passes back unchanged: the constant error carousel",
                  13, INK),
             text(400, 344, "a simple RNN has only the lower path: a product of Whᵀ and tanh′ "
                  "per step, which vanishes or explodes", 12, MUTED)]
    return svg("bptt_cec", 800, 360, "Backpropagation through time along the cell state",
               "Four time steps, cell states in a top row and hidden states in a bottom row. "
               "Forward arrows go right. The gradient flows left along the cell state, "
               "multiplied elementwise by the forget gate f_t at each step (thick red arrows): "
               "with f near 1 it passes unchanged, the constant error carousel. Along the hidden "
               "states (dashed red arrows) it is multiplied by W_h transposed and the gates' "
               "derivatives at every step, which makes it vanish or explode, as in a simple RNN.",
               body)


def stacking():
    body = []
    xs = [150, 300, 450, 600]
    ys = {2: 70, 1: 170}
    for k, x in enumerate(xs):
        body += [text(x, 306, ["x₁", "x₂", "x₃", "x_T"][k], 13)]
        for layer, y in ys.items():
            body.append(box(x - 40, y, 80, 40, f"LSTM {layer}", FILL["cell"], size=13))
        body += [arrow([(x, 168), (x, 112)], INK), arrow([(x, 290), (x, 212)], INK),
                 box(x - 28, 124, 56, 22, "dropout", FILL["pad"], MUTED, 10, 4, True),
                 arrow([(x, 68), (x, 36)]), text(x, 28, ["y₁", "y₂", "y₃", "y_T"][k], 13)]
        if k < 3:
            for y in ys.values():
                body.append(arrow([(x + 42, y + 20), (x + 108, y + 20)], H_PATH))
    for layer, y in ys.items():
        body += [arrow([(30, y + 20), (108, y + 20)], H_PATH),
                 text(6, y + 12, f"(h₀, c₀) of layer {layer}", 10, H_PATH, "start")]
    body += [text(700, 95, "layer 2 reads", 12, MUTED, "start"),
             text(700, 111, "layer 1's hs", 12, MUTED, "start"),
             text(700, 127, "(B, T, H₁)", 12, MUTED, "start"),
             text(380, 340, "Wx of layer k is (H of layer k−1, 4·H of layer k); "
                  "dropout only between layers, never on h → h",
                  12, MUTED)]
    return svg("stacking", 800, 355, "A stacked LSTM of two layers",
               "Two rows of LSTM cells over time steps 1 to T. The bottom layer reads the inputs "
               "x_1 to x_T; the top layer reads the bottom layer's hidden states, through dropout, "
               "and its hidden states are the outputs y_1 to y_T. Each layer passes its own state "
               "to the right and starts from its own initial state.", body)


def bidirectional():
    body = []
    xs = [170, 330, 490, 650]
    for k, x in enumerate(xs):
        body += [arrow([(x - 30, 170), (x - 30, 72)], C_PATH, 1.4),
                 arrow([(x + 30, 108), (x + 30, 72)], H_PATH, 1.4),
                 arrow([(x, 300), (x, 257), (x - 20, 257), (x - 20, 214)]),
                 arrow([(x, 257), (x + 20, 257), (x + 20, 152)]),
                 text(x, 318, ["x₁", "x₂", "x₃", "x_T"][k], 13),
                 box(x - 45, 110, 90, 40, "backward", FILL["sigma"], size=12),
                 box(x - 45, 172, 90, 40, "forward", FILL["cell"], size=12),
                 box(x - 45, 40, 90, 30, "[ →h | ←h ]", FILL["note"], size=12),
                 text(x, 28, ["y₁", "y₂", "y₃", "y_T"][k] + " (B, 2H)", 12)]
        if k < 3:
            body += [arrow([(x + 47, 192), (xs[k + 1] - 47, 192)], C_PATH, 2.0),
                     arrow([(xs[k + 1] - 47, 130), (x + 47, 130)], H_PATH, 2.0)]
    body += [text(60, 196, "→ t = 1 … T", 12, C_PATH), text(60, 134, "← t = T … 1", 12, H_PATH),
             text(410, 345, "two LSTMs with their own weights; their hidden states are concatenated "
                  "per step", 12, MUTED)]
    return svg("bidirectional", 800, 360, "A bidirectional LSTM",
               "Each input x_t feeds two LSTMs: a forward one that reads the sequence from "
               "step 1 to T (states passed to the right) and a backward one that reads it "
               "from T to 1 (states passed to the left). At every step the two hidden states "
               "are concatenated into an output of width 2H.", body)


def dynamic_rnn():
    body = [text(190, 28, "static unroll: T copies in the graph", 14, INK, weight="bold"),
            text(590, 28, "while_loop: one body, run T times", 14, INK, weight="bold")]
    for k in range(4):
        y = 60 + k * 62
        body += [box(80, y, 130, 40, "cell ops (step " + ["1", "2", "3", "T"][k] + ")",
                     FILL["cell"], size=12),
                 arrow([(44, y + 20), (78, y + 20)]), text(38, y + 25, "x" + ["₁", "₂", "₃", "_T"][k],
                                                          12, INK, "end"),
                 arrow([(212, y + 20), (262, y + 20)]),
                 text(270, y + 25, "h" + ["₁", "₂", "₃", "_T"][k], 12, INK, "start")]
        if k < 3:
            body.append(arrow([(145, y + 42), (145, y + 60)], H_PATH))
    body += [text(200, 320, "nodes grow with T; T is fixed when the graph is built", 12, MUTED),
             # The dynamic side.
             box(440, 60, 110, 32, "TensorArray x", FILL["data"], size=12),
             box(470, 130, 240, 90, "", FILL["cell"], rx=10),
             text(590, 150, "body(t, h, c, out)", 12),
             text(590, 172, "xₜ = x.read(t); cell ops", 12),
             text(590, 194, "out = out.write(t, hₜ)", 12),
             arrow([(495, 94), (515, 128)]),
             box(745, 155, 45, 40, "t < T?", FILL["sigma"], size=11),
             arrow([(712, 175), (743, 175)]),
             arrow([(767, 153), (767, 110), (620, 110), (620, 128)], H_PATH),
             text(700, 104, "yes: t+1, (h, c)", 11, H_PATH),
             arrow([(767, 197), (767, 260), (660, 260)]), text(770, 275, "no", 11, INK, "start"),
             box(530, 245, 130, 32, "TensorArray out", FILL["data"], size=12),
             text(590, 320, "fixed number of nodes; T read at run time; sequence_length", 12, MUTED),
             text(590, 338, "lets finished rows copy their state", 12, MUTED)]
    body.append(f"<line x1='400' y1='45' x2='400' y2='335' stroke='{MUTED}' stroke-dasharray='4 4'/>")
    return svg("dynamic_rnn", 810, 350, "A static unroll against dynamic_rnn's while_loop",
               "Left: a Python loop builds one copy of the cell's operations per step, T copies "
               "chained by their hidden states, so the graph grows with T. Right: dynamic_rnn "
               "builds one while_loop whose body reads x_t from a TensorArray, runs the cell "
               "and writes h_t to an output TensorArray; a condition t < T repeats it, with T "
               "known only when the graph runs.", body)


def padding_packing():
    lengths = [5, 3, 2]
    cell = 34
    body = [text(140, 28, "padded (B, T) and its mask", 13, INK, weight="bold"),
            text(560, 28, "packed: sorted, one batch size per step", 13, INK, weight="bold")]
    for r, n in enumerate(lengths):
        y = 45 + r * (cell + 6)
        body.append(text(20, y + 22, f"len {n}", 11, MUTED, "start"))
        for t in range(5):
            x = 70 + t * (cell + 4)
            real = t < n
            body.append(box(x, y, cell, cell, f"x{t + 1}" if real else "0",
                            FILL["data"] if real else FILL["pad"], INK if real else MUTED, 11, 3,
                            not real, INK if real else MUTED))
            body.append(box(x + 2, 180 + r * 20, cell - 4, 16, "1" if real else "0",
                            FILL["tanh"] if real else FILL["pad"], MUTED, 10, 2))
    body += [text(20, 195, "mask", 11, MUTED, "start"),
             text(140, 260, "padding computes on zeros;", 12, MUTED),
             text(140, 276, "the mask keeps them out of", 12, MUTED),
             text(140, 292, "the loss and the final state", 12, MUTED)]
    # Packed: per step, the rows still running.
    for t in range(5):
        x = 400 + t * 62
        running = [r for r, n in enumerate(lengths) if t < n]
        body.append(text(x + 20, 60, f"t={t + 1}", 11, MUTED))
        for k, r in enumerate(running):
            body.append(box(x, 70 + k * 40, 40, 34, f"s{r + 1}", FILL["data"], size=11, rx=3))
        body.append(text(x + 20, 210, f"{len(running)}", 13, C_PATH, weight="bold"))
    body += [text(360, 210, "batch_sizes", 11, C_PATH, "end"),
             text(555, 250, "data: 10 rows, no padding; step t runs only", 12, MUTED),
             text(555, 266, "the first batch_sizes[t] rows", 12, MUTED)]
    return svg("padding_packing", 720, 310, "Padding, masking and packing a batch of three sequences",
               "Left: three sequences of lengths 5, 3 and 2 padded with zeros to a (B, T) grid, "
               "with a mask of ones on real steps and zeros on padding. Right: the same sequences "
               "packed: at each step only the sequences still running, longest first, so the "
               "batch sizes per step are 3, 3, 2, 1, 1 and no padding is stored.", body)


def performance_ladder():
    rungs = [("naive", "per step: 8 small products, ~40 operators", "x_t, h, 8 weight blocks"),
             ("fused gates", "per step: 2 products (B, I)·(I, 4H), (B, H)·(H, 4H)", "weights read 2×/step"),
             ("hoisted input", "1 big product (T·B, I)·(I, 4H) + 1 product per step", "Wx read once"),
             ("compiled / graphs", "elementwise ops fused; launches recorded once", "fewer round trips"),
             ("fused cell (Triton)", "one kernel per step: gates stay in registers", "(B, 4H) never stored"),
             ("cuDNN", "whole sequence in one library call, its own fused kernels",
              "launches per layer, not per op")]
    body = [text(400, 26, "each rung moves less data or launches fewer kernels per step",
                 13, MUTED)]
    for k, (name, what, moves) in enumerate(rungs):
        y = 40 + k * 52
        body += [box(20, y, 170, 40, name, FILL["sigma"] if k < 3 else FILL["tanh"], size=13),
                 text(205, y + 18, what, 12, INK, "start"),
                 text(205, y + 34, moves, 11, C_PATH, "start")]
        if k:
            body.append(arrow([(105, y - 10), (105, y - 2)], INK, 1.4))
    body += [box(600, 60, 180, 110, "", FILL["note"], MUTED),
             text(690, 82, "memory (slow)", 12, MUTED), box(620, 92, 140, 26, "Wx, Wh, xs, hs",
                                                            FILL["data"], size=11),
             box(620, 130, 140, 26, "gates (B, 4H)", FILL["pad"], size=11),
             box(600, 230, 180, 60, "", FILL["note"], MUTED),
             text(690, 252, "compute units", 12, MUTED), text(690, 272, "registers / on-chip", 11),
             arrow([(680, 172), (680, 228)], GRAD, 2.0), arrow([(700, 228), (700, 172)], GRAD, 2.0),
             text(672, 204, "every kernel:", 11, GRAD, "end"),
             text(672, 218, "read + write", 11, GRAD, "end")]
    return svg("performance_ladder", 800, 360, "The performance ladder: what each rung saves",
               "Six rungs from top to bottom: naive per-gate products; fused gates; the input "
               "projection hoisted out of the loop; compiled and graph-captured steps; a fused "
               "Triton cell; cuDNN. Beside each, what it runs per step and which data movement "
               "it saves. A side panel shows that every kernel reads its operands from memory "
               "and writes its results back, which fusing avoids.", body)


FIGURES = [rnn_unrolled, lstm_cell, bptt_cec, stacking, bidirectional, dynamic_rnn,
           padding_packing, performance_ladder]


def render():
    """{file name: SVG text} for every figure."""
    return {f"{figure.__name__}.svg": figure() for figure in FIGURES}


def main():
    OUT.mkdir(exist_ok=True)
    for name, text_ in render().items():
        (OUT / name).write_text(text_)
        print("wrote", OUT / name)


if __name__ == "__main__":
    main()
