"""Checks for chapter 23 (TensorFlow 1, the loop): static_lstm and dynamic_lstm.

The expected outputs come from TF's own static_rnn and dynamic_rnn(MultiRNNCell)
(`autograde.references.tf_ref`), built and run like the learner's graph by
`autograde.checks.tf1_run`.
"""

import numpy as np

from autograde.checks.tf1_run import (
    CELL_MISTAKES,
    LOOP_MISTAKES,
    layer_mistakes,
    mistaken_stack,
    placeholder,
    random_layers,
    returned_pair,
    run_graph,
    run_learner,
    tf1_by_torch,
)
from autograde.references import tf_ref
from autograde.references.tf_ref import dynamic_lstm, static_lstm
from autograde.registry import exercise
from autograde.spec import DTYPES, SubmissionError, case, random_array

CHAPTER_LOOP = "23_tf1_dynamic_stacking.ipynb"

STOPS_SHORT = ("the loop stops one step short: range(num_steps - 1) leaves out the last "
               "step; use range(num_steps) for all T steps")


# ---------------------------------------------------------------------------------------
# static_lstm

def run_static_lstm(fn, inputs):
    """Build fn(inputs, num_units, initial_state, forget_bias) under scope "rnn" and run it."""
    v1 = tf_ref.load_tf().compat.v1
    x, state = inputs["inputs"], inputs["initial_state"]

    def build():
        ph = placeholder(x, {0})
        feed = {ph: x}
        initial = None
        if state is not None:
            initial = tuple(placeholder(s, {0}) for s in state)
            feed.update(zip(initial, state, strict=True))
        with v1.variable_scope("rnn"):
            out = fn(ph, inputs["num_units"], initial_state=initial,
                     forget_bias=inputs["forget_bias"])
        outputs, final = returned_pair(out, "(outputs, (c, h))")
        c, h = returned_pair(final, "(outputs, (c, h)): the final state is a (c, h) pair")
        return {"outputs": outputs, "c_T": c, "h_T": h}, feed

    return run_graph(build, inputs["variables"])[0]


# static_lstm and dynamic_lstm are graded on the loop, not the cell: the chapter hands out
# `tf_ref.lstm_cell` (TF's LSTMCell inside), so the grader's blanket ban on TF's cells
# (from_scratch) would refuse it. `run_learner` bans them itself, except through it.
@exercise("static_lstm", points=2, chapter=CHAPTER_LOOP, run=run_learner(run_static_lstm),
          reference=static_lstm, solution="solutions.tf1_lstm", from_scratch=False)
def static_lstm_cases(rng):
    cases = []
    n = int(rng.integers(2, 5))
    for dtype, (B, T, I, H), given, forget_bias in zip(
            DTYPES * 2, ((1, 1, 2, 3), (n, n, n + 1, 3), (2, 4, 3, 2), (3, 2, 1, 4)),
            (False, True, True, False), (1.0, 1.0, 0.0, 1.0), strict=True):
        [(kernel, bias)] = random_layers(rng, dtype, I, [H])
        state = (random_array(rng, (B, H), dtype), random_array(rng, (B, H), dtype)) \
            if given else None
        a = dict(inputs=random_array(rng, (B, T, I), dtype), num_units=H, initial_state=state,
                 forget_bias=forget_bias, variables={"rnn/kernel": kernel, "rnn/bias": bias})
        expected = run_static_lstm(static_lstm, a)

        def forward(layers, fb, state=state, a=a):
            outputs, [(c, h)] = tf1_by_torch(a["inputs"], layers, fb,
                                              None if state is None else [state])
            return {"outputs": outputs, "c_T": c, "h_T": h}

        suspects = {hint: forward(layers, fb)
                    for hint, layers, fb in layer_mistakes([(kernel, bias)], forget_bias)}
        for hint, mistake in {**CELL_MISTAKES, **LOOP_MISTAKES}.items():
            outputs, [(c, h)] = mistaken_stack(a["inputs"], [(kernel, bias)], forget_bias,
                                               None if state is None else [state], mistake)
            suspects[hint] = {"outputs": outputs, "c_T": c, "h_T": h}
        if T > 1:
            short = forward([(kernel, bias)], forget_bias, a={**a, "inputs": a["inputs"][:, :-1]})
            suspects[STOPS_SHORT] = short
        if given:
            suspects["initial_state is ignored (zeros used instead)"] = \
                forward([(kernel, bias)], forget_bias, state=None)
        notes = (["given initial_state"] if given else []) + [f"forget_bias={forget_bias:g}"]
        cases.append(case(dtype, dict(B=B, T=T, I=I, H=H), a, expected, *notes,
                          axes={"outputs": ("B", "T", "H"), "c_T": ("B", "H"),
                                "h_T": ("B", "H")},
                          suspects=suspects))
    return cases


# ---------------------------------------------------------------------------------------
# dynamic_lstm

def run_dynamic_lstm(fn, inputs):
    """Build fn(inputs, num_units, ...) with every option given by keyword, and run it.

    Returns outputs, and c_T[k], h_T[k] for each layer k.
    """
    x, states, lengths = inputs["inputs"], inputs["initial_state"], inputs["sequence_length"]
    num_units = inputs["num_units"]

    def build():
        ph = placeholder(x, {0, 1})  # T and B unknown until run time
        feed = {ph: x}
        initial = seq = None
        if states is not None:
            initial = tuple(tuple(placeholder(s, {0}) for s in pair) for pair in states)
            for pair, values in zip(initial, states, strict=True):
                feed.update(zip(pair, values, strict=True))
        if lengths is not None:
            seq = placeholder(lengths, {0})
            feed[seq] = lengths
        out = fn(ph, list(num_units), initial_state=initial, sequence_length=seq,
                 time_major=inputs["time_major"], forget_bias=inputs["forget_bias"],
                 scope=inputs["scope"])
        outputs, finals = returned_pair(out, "(outputs, final_states)")
        if not isinstance(finals, (tuple, list)) or len(finals) != len(num_units):
            raise SubmissionError(f"must return final_states with one (c, h) pair per layer "
                                  f"({len(num_units)} layers)")
        fetches = {"outputs": outputs}
        for k, pair in enumerate(finals):
            fetches[f"c_T[{k}]"], fetches[f"h_T[{k}]"] = returned_pair(
                pair, f"one (c, h) pair per layer in final_states; layer {k}'s is not")
        return fetches, feed

    return run_graph(build, inputs["variables"])[0]


def _dynamic_results(a, layers, forget_bias, states="given", lengths="given",
                     past_the_end="zero"):
    """run_dynamic_lstm's outputs for TF1's LSTM (by PyTorch), with some inputs replaced."""
    states = a["initial_state"] if states == "given" else states
    lengths = a["sequence_length"] if lengths == "given" else lengths
    x = a["inputs"].transpose(1, 0, 2) if a["time_major"] else a["inputs"]
    outputs, finals = tf1_by_torch(x, layers, forget_bias, states, lengths, past_the_end)
    out = {"outputs": outputs.transpose(1, 0, 2) if a["time_major"] else outputs}
    for k, (c, h) in enumerate(finals):
        out[f"c_T[{k}]"], out[f"h_T[{k}]"] = c, h
    return out


@exercise("dynamic_lstm", points=4, chapter=CHAPTER_LOOP, run=run_learner(run_dynamic_lstm),
          reference=dynamic_lstm, solution="solutions.tf1_lstm", from_scratch=False)
def dynamic_lstm_cases(rng):
    cases = []
    settings = [  # (units, time_major, ragged, given state, forget_bias, scope)
        ([3], False, False, False, 1.0, "rnn"),  # B = 1: a squeezed batch axis shows here
        ([4, 2], True, True, True, 0.0, "encoder"),
        ([2, 5, 3], False, True, False, 1.0, "rnn"),
        ([3, 4], False, False, True, 1.0, "decoder"),
    ]
    for dtype, setting in zip(DTYPES * 2, settings, strict=True):
        units, time_major, ragged, given, forget_bias, scope = setting
        B, T, I = int(rng.integers(2, 5)), int(rng.integers(2, 6)), int(rng.integers(1, 4))
        if not ragged:  # the edge shapes, always drawn (the batch is None in the graph)
            B, T = (B, 1) if given else (1, T)
        B = 1 if setting is settings[0] else B  # a squeezed batch axis shows at once
        layers = random_layers(rng, dtype, I, units)
        x = random_array(rng, (B, T, I), dtype)
        a = dict(inputs=x.transpose(1, 0, 2) if time_major else x, num_units=units,
                 initial_state=None, sequence_length=None, time_major=time_major,
                 forget_bias=forget_bias, scope=scope, variables={})
        if given:
            a["initial_state"] = tuple((random_array(rng, (B, n), dtype),
                                        random_array(rng, (B, n), dtype)) for n in units)
        if ragged:  # one empty sequence, one full one, the rest in between
            a["sequence_length"] = rng.integers(0, T + 1, size=B).astype(np.int32)
            a["sequence_length"][:2] = 0, T
        for k, (kernel, bias) in enumerate(layers):
            a["variables"][f"{scope}/cell_{k}/kernel"] = kernel
            a["variables"][f"{scope}/cell_{k}/bias"] = bias
        expected = run_dynamic_lstm(dynamic_lstm, a)
        suspects = {hint: _dynamic_results(a, wrong, fb)
                    for hint, wrong, fb in layer_mistakes(layers, forget_bias)}
        if not ragged:
            for hint, mistake in {**CELL_MISTAKES, **LOOP_MISTAKES}.items():
                outputs, finals = mistaken_stack(x, layers, forget_bias,
                                                 a["initial_state"], mistake)
                wrong = {"outputs": outputs.transpose(1, 0, 2) if time_major else outputs}
                for k, (c, h) in enumerate(finals):
                    wrong[f"c_T[{k}]"], wrong[f"h_T[{k}]"] = c, h
                suspects[hint] = wrong
        if given:
            suspects["initial_state is ignored (zeros used instead)"] = \
                _dynamic_results(a, layers, forget_bias, states=None)
        if ragged:
            suspects["sequence_length is ignored"] = \
                _dynamic_results(a, layers, forget_bias, lengths=None)
            suspects["the final state keeps changing after a sequence's end; it must stay at "
                     "the last valid step"] = {
                **_dynamic_results(a, layers, forget_bias, lengths=None),
                "outputs": expected["outputs"]}
            suspects["outputs past a sequence's length are not zero"] = \
                _dynamic_results(a, layers, forget_bias, past_the_end="step")
        notes = ([f"num_units={units}"] + (["time_major"] if time_major else [])
                 + ([f"sequence_length={a['sequence_length'].tolist()}"] if ragged else [])
                 + (["given initial_state"] if given else [])
                 + [f"forget_bias={forget_bias:g}", f"scope={scope!r}"])
        time_axes = ("T", "B", "H") if time_major else ("B", "T", "H")
        cases.append(case(dtype, dict(B=B, T=T, I=I), a, expected, *notes,
                          axes={"outputs": time_axes}, suspects=suspects))
    return cases
