"""Posted torch code: see tests/posted/__init__.py."""

from tests.posted import Post

POSTS: list[Post] = []
