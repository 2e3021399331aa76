"""One error type for every input problem, so the CLI prints one clear line."""

from __future__ import annotations


class GenrankError(Exception):
    """A problem with user input, reported as one line naming file, task and field."""

    def __init__(self, message: str, *, file: str | None = None, task: str | None = None,
                 field: str | None = None) -> None:
        self.message, self.file, self.task, self.field = message, file, task, field
        super().__init__(self.line())

    def line(self) -> str:
        where = [f"{k}={v}" for k, v in (("file", self.file), ("task", self.task),
                                          ("field", self.field)) if v]
        return f"error: {self.message}" + (f" [{', '.join(where)}]" if where else "")


class DataMissing(GenrankError):
    """A data file the task needs is not under the data root."""
