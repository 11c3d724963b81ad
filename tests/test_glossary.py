"""The glossary (book/glossary.md) and the chapters use one vocabulary.

- The number of the LSTM's gates: the glossary's entry "gate" says how many there are
  ("The LSTM has four gates"), and every "N gates" in the chapters and pages must say
  the same, except where the sentence is about another cell (the GRU).
- The terms a reader meets in the chapters and in other tutorials have entries, each
  with its Chinese names, including those of d2l's Chinese edition.
"""

import re

import nbformat
from bookbuild import ROOT

GLOSSARY = ROOT / "book" / "glossary.md"
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
N_GATES = re.compile(r"\b(one|two|three|four|five|six|\d)\s+(?:LSTM\s+)?gates\b", re.I)
CJK = re.compile(r"[\u4e00-\u9fff]")
REQUIRED_TERMS = ["mask", "projection", "bidirectional", "logit", "Adam", "spectral radius",
                  "truncated BPTT", "GRU", "peephole", "cell state", "candidate", "dropout",
                  "backpropagation through time", "gate", "forget gate"]
D2L_TERMS = ["记忆元", "候选记忆元", "暂退法", "通过时间反向传播", "隐状态", "门控循环单元"]


def glossary_entries():
    """{each name of an entry (lowercase): (its names, its text)} from the glossary block."""
    block = GLOSSARY.read_text().split("```{glossary}", 1)[1].split("\n```", 1)[0]
    entries = {}
    for chunk in re.split(r"\n\s*\n", block.strip("\n")):
        lines = chunk.splitlines()
        names = [line for line in lines if line and not line.startswith(" ")]
        text = " ".join(line.strip() for line in lines if line.startswith(" "))
        for name in names:
            entries[name.lower()] = (names, text)
    return entries


def prose():
    """[(page name, text)] for every markdown cell of every chapter and every .md page."""
    pages = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        pages += [(path.name, c.source) for c in cells if c.cell_type == "markdown"]
    pages += [(p.name, p.read_text()) for p in sorted((ROOT / "book").glob("*.md"))]
    return pages


def gate_count(text):
    found = re.search(r"The LSTM has (\w+) gates", text)
    assert found, f"the glossary's entry 'gate' must say how many gates the LSTM has: {text}"
    return NUMBERS.get(found.group(1).lower()) or int(found.group(1))


def test_the_chapters_count_the_gates_as_the_glossary_does():
    expected = gate_count(glossary_entries()["gate"][1])
    disagree = []
    for page, text in prose():
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            if "GRU" in sentence:
                continue
            for found in N_GATES.finditer(sentence):
                word = found.group(1).lower()
                if NUMBERS.get(word, word) not in (expected, str(expected)):
                    disagree.append(f"{page}: {sentence.strip()[:120]!r}")
    assert not disagree, f"the glossary counts {expected} gates; these say otherwise: {disagree}"


def test_the_glossary_has_the_terms_with_their_chinese_names():
    entries = glossary_entries()
    missing = [t for t in REQUIRED_TERMS if t.lower() not in entries]
    assert not missing, f"no glossary entry for {missing}"
    no_chinese = [t for t in REQUIRED_TERMS if not any(CJK.search(n) for n in entries[t.lower()][0])]
    assert not no_chinese, f"glossary entries without a Chinese name: {no_chinese}"
    chinese = {name for names, _ in entries.values() for name in names if CJK.search(name)}
    assert not [t for t in D2L_TERMS if t not in chinese], (
        f"d2l's Chinese terms missing: {[t for t in D2L_TERMS if t not in chinese]}")
