"""The grader's report and its renderings: table, json, markdown, gradescope, junit.

The report (what `autograde.grader.grade` returns, and `--format json` writes):

    {"schema": "autograde-report/1", "submission": "book", "score": 12.5,
     "max_score": 19, "percent": 65.79,
     "exercises": [{"id", "chapter", "notebook", "cell", "points", "max_points",
                    "verdict", "feedback", "checks": [{"label", "passed", "message"}],
                    "notes": [...]}],
     "notes": [...], "sandbox": {"user", "network", "timeout_s", "memory_mb"},
     "grading": {"grader", "commit", "submission_sha256", "verify", "seconds"}}

("grading" only in the reports `batch` writes.)

verdict is one of passed, partial, failed, not implemented, missing, forbidden, error.
REPORT_SCHEMA is its JSON schema. Text that came from a submission is already cleaned
(`clean`: one line, printable); each rendering also escapes it for its own syntax.
"""

import json
import re
import xml.etree.ElementTree as ET

# (GitHub Classroom's "classroom" format went with Classroom, closed on 28 August 2026.)
FORMATS = ("table", "json", "markdown", "gradescope", "junit")
VERDICTS = ("passed", "partial", "failed", "not implemented", "missing", "forbidden", "error")

REPORT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schema", "submission", "score", "max_score", "percent", "exercises", "notes",
                 "sandbox"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": "autograde-report/1"},
        "submission": {"type": "string"},
        "score": {"type": "number", "minimum": 0},
        "max_score": {"type": "number", "minimum": 0},
        "percent": {"type": "number", "minimum": 0, "maximum": 100},
        "notes": {"type": "array", "items": {"type": "string"}},
        "sandbox": {"type": "object", "required": ["user", "network", "timeout_s", "memory_mb"]},
        # Added by `batch`: how this submission was graded.
        "grading": {"type": "object", "additionalProperties": False,
                    "required": ["grader", "commit", "submission_sha256", "verify", "seconds"],
                    "properties": {"grader": {"type": "string"}, "commit": {"type": "string"},
                                   "submission_sha256": {"type": "string"},
                                   "verify": {"type": "array", "items": {"type": "string"}},
                                   "seconds": {"type": "number", "minimum": 0},
                                   # with a deadline: its time, and the days late
                                   "deadline": {"type": "string"},
                                   "late_days": {"type": "integer", "minimum": 0}}},
        "exercises": {"type": "array", "items": {
            "type": "object",
            "required": ["id", "chapter", "notebook", "cell", "points", "max_points", "verdict",
                         "feedback", "checks", "notes"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": "string"}, "chapter": {"type": "string"},
                "notebook": {"type": ["string", "null"]},
                "cell": {"type": ["integer", "null"], "minimum": 1},
                "points": {"type": "number", "minimum": 0},
                "max_points": {"type": "number", "minimum": 0},
                "verdict": {"enum": list(VERDICTS)},
                "feedback": {"type": "string"},
                "notes": {"type": "array", "items": {"type": "string"}},
                "checks": {"type": "array", "items": {
                    "type": "object", "required": ["label", "passed", "message"],
                    "additionalProperties": False,
                    "properties": {"label": {"type": "string"}, "passed": {"type": "boolean"},
                                   "message": {"type": "string"}}}},
            }}},
    },
}


def render(report, fmt):
    """The report as text in format `fmt` (one of FORMATS)."""
    return {"table": table, "json": as_json, "markdown": markdown, "gradescope": gradescope,
            "junit": junit}[fmt](report)


def as_json(report):
    return json.dumps(report, indent=2) + "\n"


def _points(x):
    return f"{x:.2f}".rstrip("0").rstrip(".")


def table(report):
    """For a terminal: one row per exercise, then the details of what did not pass."""
    rows = [("exercise", "points", "verdict", "feedback")]
    for e in report["exercises"]:
        rows.append((e["id"], f"{_points(e['points'])}/{_points(e['max_points'])}", e["verdict"],
                     _shorten(e["feedback"], 100)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 8)
    lines.append("")
    lines.append(f"total: {_points(report['score'])}/{_points(report['max_score'])} points "
                 f"({report['percent']:.1f}%)")
    details = [e for e in report["exercises"] if e["verdict"] != "passed"]
    for e in details:
        failed = [c for c in e["checks"] if not c["passed"]]
        if len(failed) > 1 or e["notes"] or len(e["feedback"]) > 100:
            lines.append("")
            lines.append(f"{e['id']}: {e['feedback']}")
            lines += [f"  - {c['label']}: {c['message']}" for c in failed[1:]]
            lines += [f"  note: {n}" for n in e["notes"]]
    if report["notes"]:
        lines.append("")
        lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def _shorten(text, n):
    return text if len(text) <= n else text[:n - 1] + "…"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&:\"'$@=^])")


def md(text):
    """Text for Markdown: every ASCII punctuation character backslash-escaped, so that
    nothing in it is markup (no links, images, HTML or tables of its own)."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def markdown(report):
    """For a GitHub job summary ($GITHUB_STEP_SUMMARY)."""
    lines = [f"## Autograding: {_points(report['score'])} / {_points(report['max_score'])} "
             f"points ({report['percent']:.1f}%)", "",
             "| Exercise | Points | Verdict | Feedback |", "|---|---:|---|---|"]
    for e in report["exercises"]:
        icon = {"passed": "✅", "partial": "🟡"}.get(e["verdict"], "❌")
        lines.append(f"| `{e['id']}` | {_points(e['points'])} / {_points(e['max_points'])} | "
                     f"{icon} {e['verdict']} | {md(_shorten(e['feedback'], 300))} |")
    details = [e for e in report["exercises"] if e["verdict"] != "passed" and
               (e["checks"] or e["notes"])]
    if details:
        lines += ["", "<details><summary>Details</summary>", ""]
        for e in details:
            lines.append(f"**{e['id']}**")
            lines.append("")
            lines += [f"- {md(c['label'])}: {md(c['message'])}" for c in e["checks"]
                      if not c["passed"]]
            lines += [f"- note: {md(n)}" for n in e["notes"]]
            lines.append("")
        lines.append("</details>")
    if report["notes"]:
        lines += [""] + [f"- note: {md(n)}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def _details(e):
    """The feedback, then each failed check it does not already say (the feedback names
    the first failure: "2 of 6 checks passed; LABEL: MESSAGE"), then the notes."""
    lines = [e["feedback"]]
    lines += [f"- {c['label']}: {c['message']}" for c in e["checks"]
              if not c["passed"] and f"{c['label']}: {c['message']}" not in e["feedback"]]
    lines += [f"note: {n}" for n in e["notes"]]
    return "\n".join(lines)


GRADESCOPE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["score", "tests"],
    "properties": {
        "score": {"type": "number"},
        "output": {"type": "string"},
        "visibility": {"enum": ["visible", "hidden", "after_due_date", "after_published"]},
        "stdout_visibility": {"enum": ["visible", "hidden", "after_due_date", "after_published"]},
        "tests": {"type": "array", "items": {
            "type": "object", "required": ["name", "score", "max_score", "output", "visibility"],
            "properties": {
                "name": {"type": "string"}, "number": {"type": "string"},
                "score": {"type": "number"}, "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]},
                "output": {"type": "string"},
                "visibility": {"enum": ["visible", "hidden", "after_due_date", "after_published"]},
                "tags": {"type": "array", "items": {"type": "string"}},
            }}},
    },
}


def gradescope(report):
    """Gradescope's results.json: one test per exercise, with its points."""
    tests = [{"name": e["id"], "number": str(k + 1), "score": e["points"],
              "max_score": e["max_points"], "status": "passed" if e["verdict"] == "passed"
              else "failed", "output": _details(e), "visibility": "visible",
              "tags": [e["chapter"]]}
             for k, e in enumerate(report["exercises"])]
    output = f"{_points(report['score'])}/{_points(report['max_score'])} points"
    if report["notes"]:
        output += "\n" + "\n".join(f"note: {n}" for n in report["notes"])
    return json.dumps({"score": report["score"], "output": output, "visibility": "visible",
                       "stdout_visibility": "hidden", "tests": tests}, indent=2) + "\n"


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text):
    return _XML_INVALID.sub("?", str(text))


def junit(report):
    """JUnit XML: one <testcase> per exercise; its points are <property> elements."""
    failures = sum(e["verdict"] not in ("passed",) for e in report["exercises"])
    suites = ET.Element("testsuites", name="autograde", tests=str(len(report["exercises"])),
                        failures=str(failures))
    suite = ET.SubElement(suites, "testsuite", name=_xml(report["submission"]) or "submission",
                          tests=str(len(report["exercises"])), failures=str(failures),
                          errors="0", skipped="0")
    props = ET.SubElement(suite, "properties")
    for name in ("score", "max_score", "percent"):
        ET.SubElement(props, "property", name=name, value=str(report[name]))
    for e in report["exercises"]:
        case = ET.SubElement(suite, "testcase", name=e["id"],
                             classname=f"autograde.{e['chapter'].removesuffix('.ipynb')}")
        props = ET.SubElement(case, "properties")
        ET.SubElement(props, "property", name="points", value=str(e["points"]))
        ET.SubElement(props, "property", name="max_points", value=str(e["max_points"]))
        ET.SubElement(props, "property", name="verdict", value=e["verdict"])
        if e["verdict"] != "passed":
            failure = ET.SubElement(case, "failure", message=_xml(_shorten(e["feedback"], 500)),
                                    type=e["verdict"])
            failure.text = _xml(_details(e))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def clean(text, limit=300):
    """Untrusted text made safe to show: one line, printable characters only, bounded.

    Newlines, carriage returns, terminal escapes and invisible or direction-changing
    characters become escapes (\\n, \\x1b, \\u202e), so that what a submission prints,
    raises or names its files can never start a line of a log (no `::error::` workflow
    commands, no fake "Score: 100" lines) or hide text.
    """
    try:
        text = str(text)
    except Exception:
        text = "(unprintable)"
    cut = len(text) > limit
    text = text[:limit]
    out = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return out + ("…" if cut else "")


def quote(text, limit=300):
    """Untrusted text, cleaned and in quotes, so that it reads as the submission's words."""
    return f"\"{clean(text, limit)}\""
