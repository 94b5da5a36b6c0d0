"""Commands of the ``powerfirst`` CLI: one module per topic, each registering its sub-commands
with :func:`command` when imported (:func:`powerfirst.cli.main` imports every module of this
package).  This module holds the registry and the argument and output helpers they share."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable

COMMANDS: dict[str, tuple[Callable, Callable, str]] = {}


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Decorator registering ``func(args) -> int`` as sub-command ``name``."""

    def deco(func):
        COMMANDS[name] = (configure, func, help)
        return func

    return deco


def _eprint(*a):
    print(*a, file=sys.stderr)




def years_range(text: str | None) -> tuple[int, int] | None:
    """``'2016-2024'`` → (2016, 2024)."""
    if not text:
        return None
    parts = text.replace("..", "-").split("-")
    try:
        a, b = (int(parts[0]), int(parts[-1]))
    except ValueError:
        raise argparse.ArgumentTypeError(f"years must look like 2016-2024, found {text!r}") from None
    if b < a:
        raise argparse.ArgumentTypeError(f"years {text!r}: the end comes before the start")
    return a, b


def float_list(text: str) -> list[float]:
    """``'0.25,0.5'`` → [0.25, 0.5]."""
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, found {text!r}") from None


def str_list(text: str) -> list[str]:
    """``'PJM,MISO'`` → ['PJM', 'MISO']."""
    return [x.strip() for x in text.split(",") if x.strip()]


def print_records(records: list[dict], fmt: str, columns: list[str] | None = None, floatfmt: str = ".3g"):
    """Print records as a table, JSON or CSV (used by the model commands)."""
    import pandas as pd

    if fmt == "json":
        print(json.dumps(records, indent=1, default=lambda o: None if o != o else str(o)))
        return
    df = pd.DataFrame.from_records(records, columns=columns)
    if fmt == "csv":
        from powerfirst.io.export import to_csv

        to_csv(df, sys.stdout)  # formula-leading text escaped for spreadsheets
    else:
        print(df.to_string(index=False, float_format=lambda v: format(v, floatfmt)))


@contextlib.contextmanager
def stdout_to_stderr():
    """Send what is written to file descriptor 1 while a model runs (a solver's banner, written by C code
    past ``sys.stdout``) to stderr, so that stdout holds only the KPIs (``--format json`` stays JSON)."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # stdout is not a file (captured): nothing to redirect
        yield
        return
    saved = os.dup(fd)
    try:
        os.dup2(sys.stderr.fileno(), fd)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)
