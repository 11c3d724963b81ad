"""A corpus of code written the way people post it, each piece with the verdict it must get.

Each track's module (`numpy_posts`, `torch_posts`, `tf1_posts`) holds a list `POSTS`. A
`Post` is the source a learner would paste into an exercise cell: an LSTM or RNN in the
style of a blog post or a forum question (per-gate parameters, `tf.compat.v1` classes with
`get_variable`, column vectors, ...), fitted to the exercise's signature by a thin adapter
that keeps its bug. `names` is a phrase the diagnosis must contain, or None for correct
but unusual code, which must pass. Written from descriptions of the bugs, not from the
code under test: the phrase is what a TA would say, and the check must say it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Post:
    id: str             # unique across the corpus, e.g. "numpy-forward-never-carried"
    exercise: str       # the exercise id the code is checked as
    source: str         # defines `exercise` at top level; does its own imports
    names: str | None   # a phrase the diagnosis must contain; None: correct, must pass
    note: str = ""      # the bug (or the unusual style), in a few words


def load(post):
    """The object `post.source` defines under the exercise's name, as a notebook cell would."""
    import textwrap

    namespace = {"__name__": "__posted__"}
    exec(compile(textwrap.dedent(post.source), f"<post {post.id}>", "exec"), namespace)
    return namespace[post.exercise]
