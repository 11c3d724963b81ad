"""Both workflows pass the real audit tools: `zizmor` (offline, default settings) finds
nothing, and `check-jsonschema` validates them against the GitHub workflow schema it
ships. The workflow audited is the one `release` writes into a learner's copy (for each
kind of grader source) and the course's own .github/workflows/publish.yml.

Both tools are in requirements.txt (zizmor installs a program, check-jsonschema a module);
a test skips only when its tool is not installed.
Each test also shows that its tool can fail: the same workflow with one action put
back on a movable tag, or with a key the schema does not allow, is reported.
"""

import importlib.util
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

from autograde import registry, workflow

ROOT = Path(__file__).resolve().parent.parent
PUBLISH = ROOT / ".github" / "workflows" / "publish.yml"
SOURCES = {
    "zip": workflow.GraderSource("zip", workflow.GRADER_ZIP, "ab" * 32),
    "git": workflow.GraderSource.parse("git+https://github.com/course/lstm@" + "0" * 40),
    "wheel": workflow.GraderSource.parse(
        "https://example.org/dist/autograde-1.0-py3-none-any.whl#sha256=" + "cd" * 32),
}

# zizmor's wheel installs a program, not a module: the one beside this Python, else PATH's.
ZIZMOR = shutil.which("zizmor", path=sysconfig.get_path("scripts")) or shutil.which("zizmor")
needs_zizmor = pytest.mark.skipif(ZIZMOR is None, reason="zizmor is not installed "
                                  "(pip install -r requirements.txt)")
needs_schema = pytest.mark.skipif(importlib.util.find_spec("check_jsonschema") is None,
                                  reason="check-jsonschema is not installed "
                                         "(pip install -r requirements.txt)")


def released(source):
    return workflow.render(registry.exercises(), workflow.grading_pins(ROOT), SOURCES[source])


def workflows():
    return {**{f"autograde.yml ({kind})": released(kind) for kind in SOURCES},
            "publish.yml": PUBLISH.read_text()}


def in_repository(tmp_path, text, name="autograde.yml"):
    """`text` written where zizmor and GitHub look for a workflow."""
    path = tmp_path / ".github" / "workflows" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def zizmor(path):
    return subprocess.run([ZIZMOR, "--offline", "--no-progress", str(path)], capture_output=True,
                          text=True, timeout=120)


def check_jsonschema(path):
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema",
                           "vendor.github-workflows", str(path)], capture_output=True, text=True,
                          timeout=120)


@needs_zizmor
@pytest.mark.parametrize("name", list(workflows()))
def test_zizmor_finds_nothing(name, tmp_path):
    done = zizmor(in_repository(tmp_path, workflows()[name]))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings to report" in done.stdout + done.stderr


# What the audit found before the workflows were hardened (issue 21), put back one at a time.
PUBLISH_PERMISSIONS = ("    permissions:\n      pages: write     # to deploy to GitHub Pages\n"
                       "      id-token: write  # to prove the deployment comes from this workflow\n")


def unhardened():
    text = released("zip")
    yield "autograde.yml", re.sub(r"actions/checkout@\w+ # \S+", "actions/checkout@v4", text)
    yield "autograde.yml", text.replace("        with:\n          persist-credentials: false\n", "")
    publish = PUBLISH.read_text()
    assert PUBLISH_PERMISSIONS in publish
    yield "publish.yml", publish.replace(PUBLISH_PERMISSIONS, "").replace(
        "permissions: {}\n", "permissions:\n  contents: read\n  pages: write\n  id-token: write\n")


@needs_zizmor
def test_zizmor_would_report_a_tag_credentials_or_broad_permissions(tmp_path):
    """The audit can fail: an action back on a movable tag, credentials kept in the
    checkout, Pages and token permissions granted to the whole workflow."""
    for k, (name, broken) in enumerate(unhardened()):
        done = zizmor(in_repository(tmp_path / str(k), broken, name))
        assert done.returncode != 0 and "No findings" not in done.stdout, (k, done.stdout)


@needs_schema
@pytest.mark.parametrize("name", list(workflows()))
def test_the_github_workflow_schema_validates(name, tmp_path):
    done = check_jsonschema(in_repository(tmp_path, workflows()[name]))
    assert done.returncode == 0, done.stdout + done.stderr


@needs_schema
def test_the_schema_would_reject_a_misspelt_key(tmp_path):
    broken = released("zip").replace("timeout-minutes:", "timeout-minute:")
    done = check_jsonschema(in_repository(tmp_path, broken))
    assert done.returncode != 0 and "timeout-minute" in done.stdout + done.stderr


def test_every_action_is_pinned_by_a_full_commit_sha_with_its_release():
    uses = [u for text in workflows().values()
            for u in re.findall(r"uses:\s*(\S+.*)", text)]
    assert uses
    for line in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+", line), line
    # The two workflows agree on the release of the actions they share.
    pins = {}
    for line in uses:
        action, rest = line.split("@")
        assert pins.setdefault(action, rest) == rest, (action, pins[action], rest)


def test_the_released_workflow_installs_only_what_grading_needs():
    """CPU-only torch, tf-keras without its dependencies, pip's cache, and none of the
    book's toolchain; every job has its own permissions, none of them writes."""
    flow = yaml.safe_load(released("zip"))
    [job] = flow["jobs"].values()
    install = next(s["run"] for s in job["steps"] if s.get("name", "").startswith(
        "Install the frameworks"))
    lines = install.strip().splitlines()
    assert f"--extra-index-url {workflow.TORCH_CPU_INDEX}" in lines[1]
    assert "torch==" in lines[1] and "tensorflow-cpu==" in lines[1] and "tf-keras" not in lines[1]
    assert lines[2] == "python -P -m pip install --no-deps tf-keras==2.21.0"
    for tool in ("jupyter-book", "playwright", "ruff", "pytest", "zizmor"):
        assert tool not in install
    setup = next(s for s in job["steps"] if "setup-python" in s.get("uses", ""))
    assert setup["with"]["cache"] == "pip"
    assert flow["permissions"] == {} and job["permissions"] == {"contents": "read"}
    assert not any("classroom" in s.get("uses", "") for s in job["steps"])
