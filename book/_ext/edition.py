"""The book's two editions: with the solutions (the default) or without them.

- `self-study` (the default, and every local build): each exercise is followed by its
  reference solution in a dropdown.
- `course`: the solutions are left out of the pages, so that a graded course can publish
  its book without publishing its answers. The publishing workflow builds this edition
  unless it is asked for the self-study one (README, "Publish the book").

Choose with the environment variable BOOK_EDITION, e.g.
`BOOK_EDITION=course jupyter-book build .`; anything else is an error. (sphinx-exercise's
own `hide_solutions` option cannot do this: it breaks on the gated
`{solution-start}`/`{solution-end}` pairs the chapters use.)
"""

import os

from sphinx.transforms import SphinxTransform
from sphinx_exercise.nodes import solution_node, solution_start_node

EDITIONS = ("self-study", "course")


def edition_from_environment():
    """The edition BOOK_EDITION names ("self-study" when it is unset or empty)."""
    edition = os.environ.get("BOOK_EDITION", "").strip() or "self-study"
    if edition not in EDITIONS:
        raise ValueError(f"BOOK_EDITION must be one of {', '.join(EDITIONS)}; got {edition!r}")
    return edition


class DropSolutions(SphinxTransform):
    """In the course edition, remove every solution from the page as it is read."""

    # After sphinx-exercise has merged each {solution-start}...{solution-end} pair into
    # one solution node (its transform runs at priority 10), so the code between goes too.
    default_priority = 11

    def apply(self):
        if self.config.book_edition != "course":
            return
        for node in list(self.document.findall(lambda n: isinstance(
                n, (solution_node, solution_start_node)))):
            node.parent.remove(node)


def setup(app):
    # An "env" value: switching editions re-reads every page instead of reusing the last
    # build's pages.
    app.add_config_value("book_edition", edition_from_environment(), "env", types=[str])
    app.add_transform(DropSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
