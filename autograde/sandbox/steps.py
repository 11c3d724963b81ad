"""The grader's side: the order in which the child reports its steps, so that the grader
accepts only the step expected next (a cell of the submission may write on the event
pipe too, and what it writes out of order is ignored)."""

from autograde.sandbox.protocol import Cell, Event, EventKind, Phase

# (kind, key, phase): kind CELL with a cell's index, or EXERCISE with an exercise's id.
Step = tuple[EventKind, int | str, Phase]


class Steps:
    """Which step the child may report next.

    Each cell reports "cell start/end"; an exercise cell first reports "exercise
    start/end", after which its cell runs again in the child (or not, when its code
    failed or it already ran there).
    """

    def __init__(self, cells: list[Cell]) -> None:
        self.cells, self.pos, self.phase = cells, 0, "idle"

    @staticmethod
    def _first(cell: Cell) -> tuple[Step, str]:
        """The first step of `cell`, and the phase it leads to."""
        if cell.exercise:
            return (EventKind.EXERCISE, cell.exercise, Phase.START), "exercise"
        return (EventKind.CELL, cell.index, Phase.START), "cell"

    def advance(self, event: Event) -> Step | None:
        """The step `event` reports if it is the one expected next, else None."""
        key = event.index if event.kind is EventKind.CELL else event.id
        seen = (event.kind, key, event.phase)
        cell = self.cells[self.pos] if self.pos < len(self.cells) else None
        if cell is None:
            return None
        if self.phase == "exercise":
            expected: Step = (EventKind.EXERCISE, cell.exercise or "", Phase.END)
            if seen == expected:
                self.phase = "after_exercise"
                return expected
            return None
        if self.phase == "cell":
            expected = (EventKind.CELL, cell.index, Phase.END)
            if seen == expected:
                self.phase, self.pos = "idle", self.pos + 1
                return expected
            return None
        if self.phase == "after_exercise":
            return self._after_exercise(seen, cell)
        expected, phase = self._first(cell)
        if seen == expected:
            self.phase = phase
            return expected
        return None

    def _after_exercise(self, seen: tuple[object, ...], cell: Cell) -> Step | None:
        """After an exercise: its cell runs here, or (if it failed) the next cell starts."""
        expected: Step = (EventKind.CELL, cell.index, Phase.START)
        if seen == expected:
            self.phase = "cell"
            return expected
        following = self.cells[self.pos + 1] if self.pos + 1 < len(self.cells) else None
        if following is not None:
            expected, phase = self._first(following)
            if seen == expected:
                self.pos, self.phase = self.pos + 1, phase
                return expected
        return None

    def next_exercise(self) -> str | None:
        """The exercise whose start is expected next, if any."""
        for pos, phase in ((self.pos, "idle"), (self.pos + 1, "after_exercise")):
            if self.phase == phase and pos < len(self.cells):
                return self.cells[pos].exercise
        return None

    def finished(self) -> bool:
        return (self.phase == "idle" and self.pos == len(self.cells)) or (
            self.phase == "after_exercise" and self.pos == len(self.cells) - 1)
