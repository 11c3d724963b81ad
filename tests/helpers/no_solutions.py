"""A `sitecustomize.py` for a learner's copy: put on PYTHONPATH (in a runner and its
kernel), it makes `import solutions` fail, even though the development install
(`pip install -e .`) would otherwise find it in the repository."""

GUARD = """\
import sys


class NoSolutions:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "solutions":
            raise ModuleNotFoundError("the learner's copy has no solutions", name=name)


sys.meta_path.insert(0, NoSolutions())
"""
