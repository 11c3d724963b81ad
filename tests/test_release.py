"""The learner's copy: no solutions and no tests, stubs as committed, and it runs."""

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell

from autograde.course import is_exercise_cell, release, strip_solution_cells
from autograde.learner_readme import PLACEHOLDER_CLONE_URL
from autograde.notebook import runnable
from autograde.registry import exercises
from tests.helpers.no_solutions import GUARD

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_DIRECTIVES = ("{solution-start}", "{solution}", "{solution-end}")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    return out, release(out)


def test_the_release_has_no_solutions_and_no_tests(course, tmp_path):
    out, written = course
    assert not (out / "solutions").exists() and not (out / "tests").exists()
    assert not any(p.relative_to(out).parts[0] in ("solutions", "tests", ".ci") for p in written)
    for name in ("autograde/__init__.py", "autograde/registry.py", "_config.yml", "_toc.yml",
                 "README.md", "requirements.txt", "pyproject.toml"):
        assert (out / name).is_file(), name
    for name in (".github/workflows/autograde.yml", ".github/autograde/grader.zip",
                 "autograde-manifest.json"):
        assert (out / name).is_file(), name
    (tmp_path / "x").mkdir()
    with pytest.raises(ValueError, match="not empty"):
        release(tmp_path)


def test_the_released_pyproject_installs_autograde_and_tools_only(course):
    out, _ = course
    config = tomllib.loads((out / "pyproject.toml").read_text())
    packages = config["tool"]["setuptools"]["packages"]
    assert {"autograde", "tools"} <= set(packages)
    assert all(p.split(".")[0] in ("autograde", "tools") for p in packages)
    assert all((out / p.replace(".", "/") / "__init__.py").is_file() for p in packages)
    assert "pytest" not in config.get("tool", {})  # it pointed at tests/


NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
COURSE_URL = "https://github.com/your-org/lstm-from-scratch"  # _config.yml's repository.url
INCLUDE = re.compile(r"```\{literalinclude\} \.\./solutions/\S+\n(?::(?!pyobject).*\n)*"
                     r"(?::pyobject: (?P<name>\S+)\n)?(?::.*\n)*```")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_released_notebooks_keep_the_stubs_and_lose_the_solutions(course, path):
    out, _ = course
    book = nbformat.read(path, as_version=4).cells
    released = nbformat.read(out / "book" / path.name, as_version=4).cells
    text = "\n".join(c.source for c in released)
    assert not any(d in text for d in SOLUTION_DIRECTIVES) and "../solutions/" not in text
    # Every other cell is kept, in order, exercise stubs included; code the text
    # includes from solutions/ (not an answer) is written into the page instead.
    kept = [c for c in book if not any(d in c.source for d in SOLUTION_DIRECTIVES)]
    assert len(released) == len(kept)
    for before, after in zip(kept, released, strict=True):
        assert after.cell_type == before.cell_type
        if not INCLUDE.search(before.source):
            # The Colab cell's clone line names the learner's repository, never the course's.
            assert after.source == before.source.replace(COURSE_URL, PLACEHOLDER_CLONE_URL)
            continue
        for line in INCLUDE.sub("", before.source).splitlines():  # the text around them
            assert line in after.source.splitlines()
        for m in INCLUDE.finditer(before.source):
            if m["name"] and m["name"] not in exercises():
                assert re.search(rf"^\s*(def|class) {m['name'].split('.')[-1]}\b", after.source,
                                 re.M), f"{m['name']} is not shown in the released page"
    assert sum(map(is_exercise_cell, released)) == sum(map(is_exercise_cell, book))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_released_notebooks_do_not_import_solutions(course, path):
    """A learner's copy has no solutions package: a cell that imports it cannot run."""
    out, _ = course
    for index, cell in enumerate(nbformat.read(out / "book" / path.name, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(runnable(cell.source))
        modules = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        assert not [m for m in modules if m.split(".")[0] == "solutions"], \
            f"{path.name} cell {index} imports solutions: {cell.source[:200]!r}"


def test_strip_solution_cells_handles_split_dropdowns_and_prose_around_them():
    cells = [
        new_markdown_cell("Before.\n```{solution-start} ex-a\n:class: dropdown\n```\nThe idea."),
        new_code_cell("answer = 42"),  # a code cell inside the dropdown
        new_markdown_cell("```{solution-end}\n```\nAfter."),
        new_markdown_cell("````{solution} ex-b\n:class: dropdown\n```python\nx = 1\n```\n````"),
        new_markdown_cell("::::{solution} ex-c\n```{literalinclude} ../solutions/a.py\n```\n::::"),
        new_markdown_cell("See:\n```{literalinclude} ../solutions/numpy_rnn.py\n:pyobject: f\n```"),
        new_markdown_cell("```{literalinclude} data/example.py\n```"),
        new_code_cell("check(a)"),
    ]
    kept = strip_solution_cells(cells)
    assert [c.source for c in kept] == ["Before.", "After.", "See:",
                                        "```{literalinclude} data/example.py\n```", "check(a)"]


# Run in the kernel after the notebook: did anything import solutions, and could it?
PROBE = """\
import sys, autograde
print("solutions imported:", any(m.split(".")[0] == "solutions" for m in sys.modules))
print("autograde from:", autograde.__file__)
try:
    import solutions
    print("import solutions: works")
except ImportError:
    print("import solutions: fails")
"""
# Executes a notebook with nbclient, in a process whose kernel cannot import solutions.
RUNNER = """\
import sys, nbformat
from nbclient import NotebookClient
path, probe, out = sys.argv[1:]
nb = nbformat.read(path, as_version=4)
nb.cells.append(nbformat.v4.new_code_cell(probe))
NotebookClient(nb, timeout=300, kernel_name="python3",
               resources={"metadata": {"path": sys.argv[1].rsplit("/", 1)[0]}}).execute()
nbformat.write(nb, out)
"""


@pytest.mark.slow
@pytest.mark.early  # runs a notebook: start it first (tests/conftest.py)
def test_a_released_notebook_runs_with_its_checks_without_solutions(course, tmp_path):
    out, _ = course
    notebook = next(p for p in sorted((out / "book").glob("*.ipynb"))
                    if any(map(is_exercise_cell, nbformat.read(p, as_version=4).cells)))
    (tmp_path / "guard").mkdir()
    (tmp_path / "guard" / "sitecustomize.py").write_text(GUARD)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "guard"), str(out)])}
    executed = tmp_path / "executed.ipynb"
    result = subprocess.run([sys.executable, "-c", RUNNER, str(notebook), PROBE, str(executed)],
                            cwd=out / "book", env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    cells = nbformat.read(executed, as_version=4).cells
    printed = ["".join(o.get("text", "") for o in c.outputs)
               for c in cells if c.cell_type == "code"]
    assert printed[-1].splitlines() == ["solutions imported: False",
                                        f"autograde from: {out / 'autograde' / '__init__.py'}",
                                        "import solutions: fails"], printed[-1]
    stubs = [i for i, c in enumerate(cells) if is_exercise_cell(c)]
    for i in stubs:  # each stub's check cell says so, and the notebook ran on past it
        text = "".join(o.get("text", "") for o in cells[i + 1].outputs)
        assert "not implemented yet" in text, text
    assert json.dumps(printed).count("Traceback") == 0


# ---------------------------------------------------------------------------------------
# The learner's copy describes itself


def test_the_readme_lists_only_what_the_copy_has(course):
    out, _ = course
    readme = (out / "README.md").read_text()
    named = re.findall(r"`([\w./-]+(?:/|\.\w+))`", readme)  # files and folders in backquotes
    assert "book/" in named and "autograde-manifest.json" in named
    for name in named:
        assert (out / name).exists(), f"the README names {name}, which the copy lacks"
    for absent in ("pytest", "solutions/", "`solutions", "tests/", "autograde solve",
                   "autograde release", "solutions.bench", "torchrun"):
        assert absent not in readme, absent
    assert "your instructor's re-grade is the grade of record" in readme


@pytest.mark.slow  # runs the README's commands in the copy
def test_every_command_the_readme_gives_works_in_the_copy(course):
    """Run as the learner would, in the copy, with the copy's own autograde."""
    out, _ = course
    readme = (out / "README.md").read_text()
    commands = [line.strip().split("  #")[0].strip() for line in readme.splitlines()
                if line.startswith("    ")]
    assert "python -m autograde grade book/ --only rnn_step" in commands
    env = {**os.environ, "PYTHONPATH": str(out)}
    for command in commands:
        if command.startswith(("python -m pip install", "jupyter lab")):
            continue  # network; a GUI
        if command == "python -m autograde grade book/":
            command += " --only rnn_step,rnn_forward"  # the same command, fewer exercises
        done = subprocess.run(command.split(), cwd=out, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])


def test_the_intro_promises_no_solutions(course):
    out, _ = course
    intro = (out / "book" / "intro.md").read_text()
    assert "dropdown" not in intro and "solution is in" not in intro
    assert "Stuck?" in intro  # the step is still there, told as it is in the copy


# ---------------------------------------------------------------------------------------
# The grader the released workflow installs

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SHA = "ab" * 32


@pytest.mark.parametrize("source, kind", [
    (f"git+https://github.com/course/lstm@{COMMIT}", "git"),
    (f"git+https://github.com/course/lstm@{COMMIT}#subdirectory=grader", "git"),
    (f"https://example.org/dist/autograde-1.0-py3-none-any.whl#sha256={SHA}", "wheel"),
])
def test_release_writes_a_workflow_that_installs_the_pinned_grader(source, kind, tmp_path):
    from autograde.__main__ import main

    assert main(["release", str(tmp_path / "copy"), "--grader-source", source]) == 0
    flow = yaml.safe_load((tmp_path / "copy" / ".github/workflows/autograde.yml").read_text())
    [job] = flow["jobs"].values()
    install = next(s["run"] for s in job["steps"] if s.get("name", "").startswith(
        "Install the grader"))
    assert '--target "$RUNNER_TEMP/grader"' in install and "python -P" in install
    if kind == "git":
        assert f'"{source}"' in install
    else:
        assert f'echo "{SHA}  ' in install and "sha256sum --check" in install
    assert not (tmp_path / "copy" / ".github" / "autograde" / "grader.zip").exists()
    assert job["env"]["PYTHONSAFEPATH"] == "1"


@pytest.mark.parametrize("source", [
    "git+https://github.com/course/lstm@main",  # a branch moves
    "git+https://github.com/course/lstm",
    "https://example.org/autograde-1.0-py3-none-any.whl",  # no hash
    f"http://example.org/autograde-1.0-py3-none-any.whl#sha256={SHA}",  # not https
    "autograde==1.0",
])
def test_release_refuses_a_grader_source_that_is_not_pinned(source, tmp_path, capsys):
    from autograde.__main__ import main

    assert main(["release", str(tmp_path / "copy"), "--grader-source", source]) == 2
    err = capsys.readouterr().err
    assert "expected a git URL pinned to a commit" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "copy").exists()


def clone_urls(out):
    """The URL of every `git clone` line in the copy's notebooks (a Colab cell's)."""
    urls = []
    for path in sorted((out / "book").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            urls += re.findall(r"^\s*!git clone\b.*?\s(\S+)\s+\S+\s*$", cell.source, re.M)
    return urls


def test_the_copy_never_clones_the_course_repository(course, tmp_path):
    """The course's repository holds the answers: a learner's Colab cell must not clone it."""
    course_url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    book_urls = clone_urls(ROOT)
    assert book_urls and set(book_urls) == {course_url}, "the book's first cells changed shape"
    out, _ = course
    assert course_url not in set(clone_urls(out))
    assert len(clone_urls(out)) == len(book_urls)
    # Without --clone-url, the README says what to replace in that cell.
    [placeholder] = set(clone_urls(out))
    assert placeholder in (out / "README.md").read_text()
    mine = "https://github.com/alice/lstm-course"
    copy = tmp_path / "copy"
    release(copy, clone_url=mine)
    assert clone_urls(copy) == [mine] * len(book_urls)
    assert mine in (copy / "README.md").read_text()


@pytest.mark.parametrize("url", ["x; rm -rf ~", "https://host/repo name", "repo", "'https://a/b'"])
def test_release_refuses_a_clone_url_a_shell_would_misread(url, tmp_path):
    with pytest.raises(ValueError, match="--clone-url: expected"):
        release(tmp_path / "copy", clone_url=url)
    assert not (tmp_path / "copy").exists() or not any((tmp_path / "copy").iterdir())


def test_a_course_adds_and_drops_release_steps(tmp_path):
    """release is a list of steps: one dropped leaves its file out, one added runs in order."""
    from autograde.course import RELEASE_STEPS
    from autograde.release_steps import write_readme

    def add_notice(build):  # what a course might add: a file of its own, listed as written
        notice = build.out / "NOTICE.md"
        notice.write_text("Course materials (c) the instructors.\n")
        build.written.append(notice)

    steps = [s for s in RELEASE_STEPS if s is not write_readme] + [add_notice]
    written = release(tmp_path / "copy", steps=steps)
    assert not (tmp_path / "copy" / "README.md").exists()
    assert (tmp_path / "copy" / "NOTICE.md") in written
    assert (tmp_path / "copy" / "autograde-manifest.json").is_file()
