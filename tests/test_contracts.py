"""The import rules hold, and each contract can fail.

`lint-imports` checks the contracts in pyproject.toml's [tool.importlinter]. Each is
then broken on purpose, as a careless edit would break it, in a temporary copy of the
packages (one plant per contract), and lint-imports must name that contract BROKEN.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = {
    "forbidden": "autograde never imports solutions or tools",
    "allowed": "solutions imports only the standard library, NumPy, the frameworks and itself",
    "acyclic": "no import cycles inside autograde",
    "sandbox": "the sandbox's child side never imports the grader's side",
}
# (contract, file, the line a careless edit adds at its end)
PLANTS = [
    ("forbidden", "autograde/formats.py", "from solutions.shapes import expect  # noqa"),
    ("forbidden", "autograde/references/numpy_ref.py", "import tools.answer_key  # noqa"),
    ("allowed", "solutions/shapes.py", "import pandas  # noqa"),
    ("allowed", "solutions/numpy_rnn.py", "from autograde.formats import clean  # noqa"),
    ("acyclic", "autograde/formats.py", "from autograde import course  # noqa"),
    ("sandbox", "autograde/sandbox/child.py", "from autograde import verify  # noqa"),
]


def lint_imports(root):
    """lint-imports run in `root`: (exit status, output). Its own packages come first."""
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    env = {**os.environ, "PYTHONPATH": str(root)}
    run = subprocess.run([exe, "--no-cache"], cwd=root, env=env, capture_output=True,
                         text=True, timeout=300)
    return run.returncode, run.stdout + run.stderr


def verdicts(output):
    """{contract name: "KEPT" or "BROKEN"} from lint-imports' summary lines."""
    found = {}
    for line in output.splitlines():
        for name in CONTRACTS.values():
            if line.startswith(name + " ") and line.split()[-1] in ("KEPT", "BROKEN"):
                found[name] = line.split()[-1]
    return found


def test_every_contract_is_kept():
    status, output = lint_imports(ROOT)
    assert verdicts(output) == dict.fromkeys(CONTRACTS.values(), "KEPT"), output
    assert status == 0, output


@pytest.mark.parametrize("contract, path, line", PLANTS,
                         ids=[f"{c}:{p}" for c, p, _ in PLANTS])
def test_a_planted_violation_breaks_its_contract(contract, path, line, tmp_path):
    for name in ("autograde", "solutions", "tools"):
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "tests").mkdir()
    shutil.copy(ROOT / "tests" / "import_rules.py", tmp_path / "tests")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    planted = tmp_path / path
    planted.write_text(planted.read_text() + "\n" + line + "\n")
    status, output = lint_imports(tmp_path)
    assert verdicts(output).get(CONTRACTS[contract]) == "BROKEN", output
    assert status != 0
