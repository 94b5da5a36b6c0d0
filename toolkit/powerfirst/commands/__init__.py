"""Model commands of the ``powerfirst`` CLI: one module per model, each registering its
sub-commands with :func:`powerfirst.cli.command` when imported (``powerfirst.cli.main``
imports every module of this package)."""

from __future__ import annotations

import argparse


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
