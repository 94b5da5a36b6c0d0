"""Errors and problem reports raised at powerfirst's boundaries.

Every loader and validator collects *all* the problems it finds before it
raises, so that a user can fix a file in one pass.  A :class:`Problem` says
what was expected, what was found and where (file, row, column or variable).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["PowerfirstError", "Problem", "ValidationError", "DataFormatError", "OutputError",
           "OutputExistsError", "OutputNotWritableError", "Cancelled"]


class PowerfirstError(Exception):
    """Base class of the errors powerfirst raises on purpose."""


class Cancelled(Exception):  # noqa: N818 - a stop asked for, not an error of the input
    """A computation was stopped on request (a screen's ``should_stop`` hook, a network plan's
    ``cancel`` event): nothing is returned."""

    @classmethod
    def check(cls, event, message: str) -> None:
        """Raise ``Cancelled(message)`` when ``event`` (a ``threading.Event``; None: never) is set."""
        if event is not None and event.is_set():
            raise cls(message)


@dataclass(frozen=True)
class Problem:
    """One problem found in an input.

    Parameters
    ----------
    message : str
        What is wrong: what was expected and what was found.
    file : str, optional
        File (or object) the problem was found in.
    row : int, optional
        1-based record number (the first data row is row 1).
    line : int, optional
        1-based line number in a text file, where it differs from ``row``
        (a CSV with a header: line = row + 1).
    column : str, optional
        Column or field name.
    variable : str, optional
        Variable name in a Dataset.
    site : str, optional
        Site (or balancing authority) the problem concerns.
    """

    message: str
    file: str | None = None
    row: int | None = None
    line: int | None = None
    column: str | None = None
    variable: str | None = None
    site: str | None = None

    @property
    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}" + (f" (line {self.line})" if self.line is not None else ""))
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(f"column '{self.column}'")
        if self.variable:
            parts.append(f"variable '{self.variable}'")
        if self.site:
            parts.append(f"'{self.site}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        loc = self.location
        return f"{loc}: {self.message}" if loc else self.message


class ValidationError(PowerfirstError, ValueError):
    """One or more problems found while validating an input.

    Attributes
    ----------
    problems : list of Problem
        Every problem found, in the order found.
    """

    def __init__(self, problems: Iterable[Problem] | Problem | str, what: str = "input"):
        if isinstance(problems, (Problem, str)):
            problems = [problems]
        self.problems = [p if isinstance(p, Problem) else Problem(str(p)) for p in problems]
        self.what = what
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in {what}:"
        body = "\n".join(f"  - {p}" for p in self.problems[:200])
        if n > 200:
            body += f"\n  ... and {n - 200} more"
        super().__init__(f"{head}\n{body}")


class DataFormatError(PowerfirstError, ValueError):
    """A file is not in a format the loader understands (or is malformed)."""


class OutputError(PowerfirstError, OSError, ValueError):
    """An output cannot be written where it was asked to go.

    Raised *before* anything is computed or replaced.  It is an ``OSError``
    (file-system trouble) and a ``ValueError`` (the path given is not
    usable), so callers catching either see it; the message names the path,
    what was found there and how to fix it.
    """


class OutputExistsError(OutputError, FileExistsError):
    """The output path holds something powerfirst will not replace.

    Either something powerfirst did not write (a folder of the user's files,
    a foreign Zarr store, a regular file), which is never replaced, or a
    store powerfirst wrote, which is replaced only with ``overwrite=True``.
    """


class OutputNotWritableError(OutputError, PermissionError):
    """The folder an output goes to cannot be written (read-only, not a folder, ...)."""
