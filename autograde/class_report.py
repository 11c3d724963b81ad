"""The class report: what an instructor reads after `batch` (`python -m autograde class-report`).

`write(gradebook, out_dir)` reads the gradebook and the students' JSON reports beside it
(`<stem>-reports/`) and writes to `out_dir`:

- `class-report.md` and `class-report.html` (one self-contained page: the plots are in
  it as data URIs, no script, no outside link);
- `scores.png` (distribution of the students' percentages), `pass-rate.png` (per
  exercise, in the book's order: passed, partial), `grading-time.png` (seconds per
  student).

Besides the plots: the most common named mistakes per exercise (the "Probably: ..."
hints of the checks, else the kind of failure), the students whose copy `verify` found
edited, and the time grading took. Student names and everything from a submission are
escaped for Markdown and HTML.
"""

import base64
import csv
import html
import json
import re
import statistics
from collections import Counter
from pathlib import Path

from autograde import registry
from autograde.batch import reports_folder
from autograde.formats import md

PLOTS = ("scores.png", "pass-rate.png", "grading-time.png")
_HINT = re.compile(r"Probably: (.+?)(?:\.(?:\s|$)|$)")


def load(gradebook):
    """{student: report} from the gradebook's rows and its reports folder."""
    gradebook = Path(gradebook)
    try:
        with open(gradebook, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{gradebook}: cannot read the gradebook ({e})") from None
    if not rows or "student" not in rows[0]:
        raise ValueError(f"{gradebook}: not a gradebook (expected a CSV with a student column)")
    folder = reports_folder(gradebook)
    reports = {}
    for row in rows:
        path = folder / f"{row['student']}.json"
        if not path.is_file():
            raise ValueError(f"{path}: missing; run batch again to write the reports")
        reports[row["student"]] = json.loads(path.read_text())
    return reports


def summarize(reports):
    """The numbers the report shows (a dict; see `markdown`)."""
    order = list(registry.exercises())
    seen = {e["id"] for r in reports.values() for e in r["exercises"]}
    ids = [id for id in order if id in seen]
    per = {id: {"passed": 0, "partial": 0, "mistakes": Counter()} for id in ids}
    for report in reports.values():
        for e in report["exercises"]:
            if e["id"] not in per:
                continue
            stats = per[e["id"]]
            if e["verdict"] in ("passed", "partial"):
                stats[e["verdict"]] += 1
            if e["verdict"] != "passed":
                stats["mistakes"].update(named_mistakes(e))
    n = len(reports)
    percents = sorted(r["percent"] for r in reports.values())
    seconds = {s: r.get("grading", {}).get("seconds") for s, r in reports.items()}
    return {
        "students": n, "ids": ids, "per_exercise": per, "percents": percents,
        "mean": statistics.fmean(percents) if percents else 0.0,
        "median": statistics.median(percents) if percents else 0.0,
        "verify": {s: r["grading"]["verify"] for s, r in sorted(reports.items())
                   if r.get("grading", {}).get("verify")},
        "seconds": {s: t for s, t in sorted(seconds.items()) if t is not None},
        "graders": sorted({r.get("grading", {}).get("grader", "?") for r in reports.values()}),
    }


def named_mistakes(e):
    """What went wrong in one exercise entry: its checks' hints ("Probably: ..."), one
    each, or else the kind of failure."""
    hints = {m.group(1) for c in e["checks"] if not c["passed"]
             for m in _HINT.finditer(c["message"])}
    hints |= {m.group(1) for m in _HINT.finditer(e["feedback"])}
    if hints:
        return sorted(hints)
    if e["verdict"] in ("not implemented", "missing", "forbidden"):
        return [e["verdict"]]
    if e["verdict"] == "error":
        m = re.search(r"raised (\w+)", e["feedback"])
        return [f"raised {m.group(1)}" if m else "error"]
    failed = next((c["message"] for c in e["checks"] if not c["passed"]), "")
    # "h_next is wrong: largest error 0.296 at ..." -> "h_next is wrong", the same for all
    what = re.split(r": largest error|\(tolerance", failed)[0]
    what = re.sub(r"\d+\.\d+(e-?\d+)?", "…", what).strip(" .")
    return [what[:100] if what else "wrong values"]


def write(gradebook, out_dir=None):
    """Write the class report of `gradebook` into `out_dir`; return the paths written."""
    gradebook = Path(gradebook)
    out = Path(out_dir) if out_dir else gradebook.with_name(f"{gradebook.stem}-class-report")
    summary = summarize(load(gradebook))
    out.mkdir(parents=True, exist_ok=True)
    plots = draw(summary, out)
    (out / "class-report.md").write_text(markdown(summary))
    (out / "class-report.html").write_text(page(summary, plots))
    return [out / "class-report.md", out / "class-report.html", *plots]


def draw(summary, out):
    """The three PNG plots (matplotlib's Agg canvas, no display needed)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(summary["percents"], bins=range(0, 101, 10), color="#4c72b0", edgecolor="white")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="score (%)", ylabel="students", xlim=(0, 100),
           title=f"Scores of {summary['students']} students (median "
                 f"{summary['median']:.0f}%)")
    fig.savefig(out / PLOTS[0], dpi=100)

    ids, n = summary["ids"], max(1, summary["students"])
    per = summary["per_exercise"]
    fig = Figure(figsize=(7, 0.28 * len(ids) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    rows = range(len(ids))[::-1]  # the book's first exercise at the top
    passed = [100 * per[id]["passed"] / n for id in ids]
    partial = [100 * per[id]["partial"] / n for id in ids]
    ax.barh(rows, passed, color="#55a868", label="passed")
    ax.barh(rows, partial, left=passed, color="#dd8452", label="partial")
    ax.set_yticks(rows, ids, fontsize=8)
    ax.set(xlim=(0, 100), xlabel="students (%)", title="Pass rate per exercise, in book order")
    ax.legend(loc="lower right", fontsize=8)
    fig.savefig(out / PLOTS[1], dpi=100)

    seconds = summary["seconds"]
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(list(seconds.values()) or [0], bins=20, color="#8172b3", edgecolor="white")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="seconds to grade one student", ylabel="students",
           title=f"Grading time: {sum(seconds.values()):.0f} s in all")
    fig.savefig(out / PLOTS[2], dpi=100)
    return [out / name for name in PLOTS]


def _mistake_rows(summary, top=3):
    for id in summary["ids"]:
        common = summary["per_exercise"][id]["mistakes"].most_common(top)
        if common:
            yield id, common


def markdown(summary):
    n, per = summary["students"], summary["per_exercise"]
    lines = [f"# Class report: {n} students", "",
             f"Mean score {summary['mean']:.1f}%, median {summary['median']:.1f}%. "
             f"Graded by {', '.join(summary['graders'])}.", "",
             "![scores](scores.png)", "", "## Pass rate per exercise", "",
             "| Exercise | Passed | Partial |", "|---|---:|---:|"]
    lines += [f"| `{id}` | {per[id]['passed']}/{n} | {per[id]['partial']}/{n} |"
              for id in summary["ids"]]
    lines += ["", "![pass rate](pass-rate.png)", "", "## Most common mistakes", "",
              "| Exercise | Mistake | Students |", "|---|---|---:|"]
    for id, common in _mistake_rows(summary):
        lines += [f"| `{id}` | {md(text)} | {count} |" for text, count in common]
    lines += ["", "## Students whose copy differs from what was released", ""]
    if summary["verify"]:
        for student, findings in summary["verify"].items():
            lines.append(f"- **{md(student)}**: {len(findings)}: "
                         + "; ".join(md(f) for f in findings[:5])
                         + ("; …" if len(findings) > 5 else ""))
    else:
        lines.append("None.")
    seconds = summary["seconds"]
    lines += ["", "## Grading time", ""]
    if seconds:
        slowest = max(seconds, key=seconds.get)
        lines.append(f"{sum(seconds.values()):.0f} s in all, {statistics.fmean(seconds.values()):.1f} s "
                     f"per student on average, the slowest {md(slowest)} ({seconds[slowest]:.0f} s).")
    else:
        lines.append("Not recorded.")
    lines += ["", "![grading time](grading-time.png)", ""]
    return "\n".join(lines)


def page(summary, plots):
    """The report as one HTML page with the plots inside it."""
    e, n, per = html.escape, summary["students"], summary["per_exercise"]

    def img(path, alt):
        data = base64.b64encode(Path(path).read_bytes()).decode()
        return f'<img alt="{alt}" src="data:image/png;base64,{data}">'

    rows = "".join(f"<tr><td><code>{e(id)}</code></td><td>{per[id]['passed']}/{n}</td>"
                   f"<td>{per[id]['partial']}/{n}</td></tr>" for id in summary["ids"])
    mistakes = "".join(f"<tr><td><code>{e(id)}</code></td><td>{e(text)}</td><td>{count}</td></tr>"
                       for id, common in _mistake_rows(summary) for text, count in common)
    verify = "".join(f"<li><b>{e(s)}</b>: {len(f)}<ul>" + "".join(f"<li>{e(x)}</li>" for x in f)
                     + "</ul></li>" for s, f in summary["verify"].items()) or "<li>None.</li>"
    seconds = summary["seconds"]
    timing = (f"{sum(seconds.values()):.0f} s in all, {statistics.fmean(seconds.values()):.1f} s "
              f"per student on average." if seconds else "Not recorded.")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class report</title>
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<style>
body {{ font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }}
table {{ border-collapse: collapse; margin: 1rem 0; }}
td, th {{ border: 1px solid #ccc; padding: 0.2rem 0.6rem; text-align: left; }}
img {{ max-width: 100%; }}
.cols {{ display: flex; gap: 2rem; align-items: flex-start; flex-wrap: wrap; }}
</style></head><body>
<h1>Class report: {n} students</h1>
<p>Mean score {summary['mean']:.1f}%, median {summary['median']:.1f}%.
Graded by {e(', '.join(summary['graders']))}.</p>
{img(plots[0], "score distribution")}
<h2>Pass rate per exercise</h2>
<div class="cols">{img(plots[1], "pass rate per exercise")}
<table><tr><th>Exercise</th><th>Passed</th><th>Partial</th></tr>{rows}</table></div>
<h2>Most common mistakes</h2>
<table><tr><th>Exercise</th><th>Mistake</th><th>Students</th></tr>{mistakes}</table>
<h2>Students whose copy differs from what was released</h2>
<ul>{verify}</ul>
<h2>Grading time</h2>
<p>{timing}</p>
{img(plots[2], "grading time per student")}
</body></html>
"""
