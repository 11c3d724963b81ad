"""The book's own stylesheet, book/_static/book.css, on every page.

The book's root is the repository, so jupyter-book's default static folder would be a
`_static/` at the top of the repository; this keeps the book's files under book/.
"""

from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "_static"


def _add_static(app):
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def setup(app):
    app.connect("builder-inited", _add_static)
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
