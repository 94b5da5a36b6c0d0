"""The ``powerfirst`` command.

::

    powerfirst demo                      build the default cubes if missing, serve the dashboards
    powerfirst serve [--port 5006]       serve the dashboards
    powerfirst build-cube --sites FILE|demo --out PATH
    powerfirst validate FILE             check a site file, facts table or cube (exit 1 on problems)

Every command has ``--help``.  Long steps show progress bars on stderr.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from powerfirst._version import __version__
from powerfirst.commands import COMMANDS, _eprint

# ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="powerfirst",
        description="Energy-first siting of AI compute: grid headroom, time to power, flexibility, demand growth.",
    )
    parser.add_argument("--version", action="version", version=f"powerfirst {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (configure, func, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        configure(p)
        p.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # command modules register themselves on import
    import importlib
    import pkgutil

    import powerfirst.commands as _commands

    for mod in pkgutil.iter_modules(_commands.__path__):
        importlib.import_module(f"powerfirst.commands.{mod.name}")

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        # input a command cannot use (ValidationError and DataFormatError are ValueErrors; KeyError is an
        # unknown name: BA, region, scenario): one message and exit status 1, not a traceback
        _eprint(f"error: {exc.args[0] if isinstance(exc, KeyError) and exc.args else exc}")
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # `python -m powerfirst.cli`: run the registered module, not this copy
    from powerfirst.cli import main as _main

    raise SystemExit(_main())
