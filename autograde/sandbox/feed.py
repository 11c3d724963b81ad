"""The grader's side: handing each exercise's inputs to the sandbox as they arrive.

The grader computes each exercise's cases (and their expected outputs) while the
notebooks' children start up and run their first cells (`Inputs`); a child waits for an
exercise's inputs only when it gets to that exercise (`Feed` writes them, then the
`protocol.InputsReady` file).
"""

import threading
from collections.abc import Iterable
from pathlib import Path

from autograde.sandbox import wire
from autograde.sandbox.confine import make_readable
from autograde.sandbox.protocol import InputsReady


class Inputs:
    """The cases' inputs, handed over by the grader while the sandboxes already run."""

    def __init__(self) -> None:
        self._inputs: dict[str, list[object]] = {}
        self._lock = threading.Lock()

    def put(self, id: str, inputs: Iterable[object]) -> None:
        """The inputs of each case of exercise `id` (a list; empty if it has none)."""
        with self._lock:
            self._inputs[id] = list(inputs)

    def get(self, id: str) -> list[object] | None:
        """The list given to `put`, or None if it has not been given yet."""
        with self._lock:
            return self._inputs.get(id)


class Feed:
    """Writes each exercise's inputs into the sandbox's in/ folder as they arrive."""

    def __init__(self, folder: Path, exercises: Iterable[str], inputs: Inputs) -> None:
        self.folder, self.inputs = folder, inputs
        self.waiting = set(exercises)

    def deliver(self) -> None:
        """Write the inputs that have arrived, each exercise's at once, then its READY."""
        for id in sorted(self.waiting):
            cases = self.inputs.get(id)
            if cases is None:
                continue
            for i, value in enumerate(cases):
                wire.write(self.folder / id / str(i), value, inputs=True)
            (self.folder / id).mkdir(exist_ok=True)
            make_readable(self.folder / id)
            temporary = self.folder / id / f".{InputsReady.NAME}"
            temporary.write_text(InputsReady(cases=len(cases)).text())
            temporary.chmod(0o644)
            temporary.rename(self.folder / id / InputsReady.NAME)  # atomic: all or nothing
            self.waiting.discard(id)

    def ready(self, id: str) -> bool:
        return id not in self.waiting

    def count(self, id: str) -> int:
        cases = self.inputs.get(id)
        return len(cases) if cases is not None else 0
