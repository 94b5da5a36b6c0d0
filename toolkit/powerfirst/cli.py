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
from powerfirst.errors import PowerfirstError

# ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="powerfirst",
        description="Energy-first siting of AI compute: grid headroom, time to power, flexibility, demand growth.",
    )
    parser.add_argument("--version", action="version", version=f"powerfirst {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error (default: one message, exit status 1)")
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
    except (FileNotFoundError, ValueError, KeyError, PowerfirstError, OSError) as exc:
        # input a command cannot use (ValidationError and DataFormatError are ValueErrors; KeyError is an
        # unknown name: BA, region, scenario; OSError a file that cannot be read or written): one message
        # and exit status 1, the traceback only with --debug
        if args.debug:
            raise
        if isinstance(exc, BrokenPipeError):
            return 0
        _eprint(f"error: {_message(exc)}")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug, not bad input: say so, without a traceback by default
        if args.debug:
            raise
        _eprint(f"internal error ({type(exc).__name__}: {exc}); this is a bug in powerfirst - please report it "
                "with the output of the same command run with --debug")
        return 3


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.filename:
        return f"{exc.strerror or exc}: {exc.filename}"
    return str(exc)


if __name__ == "__main__":  # `python -m powerfirst.cli`: run the registered module, not this copy
    from powerfirst.cli import main as _main

    raise SystemExit(_main())
