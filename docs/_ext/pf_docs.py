"""Sphinx helpers of the powerfirst docs, generated from the code so they cannot drift.

Directives
----------
``.. pf-scenario-reference:: [dotted.path.Scenario]``
    The scenario YAML reference: a table of the top-level settings of the ``param.Parameterized``
    scenario class, then, for every parameter that is a ``param.ClassSelector`` whose class is a
    ``param.Parameterized`` subclass (a *section*), a heading and a table of that section's
    settings, recursively.  Works on a flat class (no sections) as well.  Option ``:yaml:``
    appends the defaults as YAML (``to_yaml()`` of a default instance, when the class has it).
``.. pf-params:: dotted.path.Class``
    The parameters of one ``param.Parameterized`` class as a table (nothing for other classes).
``.. pf-cli-reference::``
    ``powerfirst --help`` and every command's ``--help``: ``powerfirst.cli.main(["--help"])`` and
    ``main([name, "--help"])`` for each sub-command of ``powerfirst.cli.build_parser()``, run in a
    fresh interpreter (so the commands register as ``powerfirst`` registers them).
``.. pf-reexports:: module``
    The functions and classes a package re-exports in ``__all__``, linked to where they are
    documented (their defining module).
``.. pf-constants:: module``
    The constants (neither function, class nor module) a module lists in ``__all__``, with their
    values; those defined in the module become ``py:data`` targets.

Build step
----------
``pf_notebooks`` (a list of (source folder, target folder) pairs, relative to the docs folder):
the notebooks are copied in before Sphinx looks for sources, so ``notebooks/`` stays the one copy
in git (the target folder is generated and ignored).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import shutil
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_id

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- notebooks


def copy_notebooks(app, config):
    """Copy ``*.ipynb`` of each source folder into its target folder (only what changed)."""
    confdir = Path(app.confdir)
    for src, dest in config.pf_notebooks:
        src, dest = (confdir / src).resolve(), confdir / dest
        dest.mkdir(parents=True, exist_ok=True)
        wanted = {p.name: p for p in sorted(src.glob("*.ipynb"))}
        for name, path in wanted.items():
            target = dest / name
            data = path.read_bytes()
            if not target.exists() or target.read_bytes() != data:
                target.write_bytes(data)
        for stale in dest.glob("*.ipynb"):
            if stale.name not in wanted:
                stale.unlink()
        checkpoints = dest / ".ipynb_checkpoints"
        if checkpoints.exists():
            shutil.rmtree(checkpoints)


# --------------------------------------------------------------------------- tables


def _cell(content) -> nodes.entry:
    entry = nodes.entry()
    if isinstance(content, list):  # parsed reST: paragraphs
        entry.extend(content)
    elif isinstance(content, nodes.Node):
        para = nodes.paragraph()
        para += content
        entry += para
    elif content is not None and content != "":
        entry += nodes.paragraph(text=str(content))
    return entry


def _table(header: list[str], rows: list[list], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["pf-table"])
    tgroup = nodes.tgroup(cols=len(header))
    table += tgroup
    for w in widths:
        tgroup += nodes.colspec(colwidth=w)
    thead = nodes.thead()
    tgroup += thead
    row = nodes.row()
    for h in header:
        row += _cell(h)
    thead += row
    tbody = nodes.tbody()
    tgroup += tbody
    for r in rows:
        row = nodes.row()
        for c in r:
            row += _cell(c)
        tbody += row
    return table


def _literal(text: str) -> nodes.literal:
    return nodes.literal(text, text)


def _short(text: str, n: int = 100) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --------------------------------------------------------------------------- param


def _yaml_value(v) -> str:
    """A default as it is written in YAML (flow style), else its repr."""
    import yaml

    def plain(x):
        if isinstance(x, tuple):
            return [plain(i) for i in x]
        if isinstance(x, list):
            return [plain(i) for i in x]
        if isinstance(x, dict):
            return {k: plain(i) for k, i in x.items()}
        return x

    try:
        text = yaml.safe_dump(plain(v), default_flow_style=True, width=10**6, allow_unicode=True)
    except yaml.YAMLError:
        return repr(v)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")].strip()
    elif text.endswith("..."):
        text = text[:-3].strip()
    return text


def _names(types) -> str:
    if types is None:
        return ""
    if not isinstance(types, tuple | list):
        types = (types,)
    return " or ".join(getattr(t, "__name__", str(t)) for t in types)


def _param_type(p) -> str:
    import param

    kind = type(p).__name__
    if type(p) is param.ClassSelector:  # not its subclasses (Dict, Array, DataFrame, ...)
        text = f"{kind} ({_names(p.class_)})"
    elif isinstance(p, param.Selector):  # Selector, ObjectSelector, ListSelector, FileSelector, ...
        objects = p.objects.values() if isinstance(p.objects, dict) else (p.objects or [])
        shown = ", ".join(_yaml_value(o) for o in objects)
        text = f"{kind}: {shown}" if shown else kind
    elif isinstance(p, param.List) and getattr(p, "item_type", None):
        text = f"{kind} of {_names(p.item_type)}"
    elif (
        isinstance(p, param.Tuple) and not isinstance(p, param.Range) and getattr(p, "length", None)
    ):
        text = f"{kind} of {p.length}"
    else:
        text = kind
    if getattr(p, "allow_None", False):
        text += ", or null"
    if getattr(p, "readonly", False):
        text += " (read-only)"
    elif getattr(p, "constant", False):
        text += " (constant)"
    return text


def _param_bounds(p) -> str:
    import param

    parts = []
    bounds = getattr(p, "bounds", None)
    if bounds is not None and tuple(bounds) != (None, None):
        lo, hi = (
            None if b is not None and abs(b) >= 2**53 else b for b in bounds
        )  # sys.maxsize: open
        inc = getattr(p, "inclusive_bounds", (True, True)) or (True, True)
        left = "[" if (lo is not None and inc[0]) else "("
        right = "]" if (hi is not None and inc[1]) else ")"
        text = f"{left}{'−∞' if lo is None else lo}, {'∞' if hi is None else hi}{right}"
        if isinstance(p, param.List):
            if tuple(bounds) != (0, None):
                parts.append(f"length {text}")
        else:
            parts.append(text)
    regex = getattr(p, "regex", None)
    if regex:
        parts.append(f"matches {regex}")
    return "; ".join(parts)


def own_params(cls) -> list[tuple[str, object]]:
    """Parameters of a Parameterized class in declaration order, without the built-in ``name``."""
    import param

    builtin_doc = param.Parameterized.param["name"].doc
    out = []
    for name in cls.param:
        p = cls.param[name]
        if name == "name" and p.doc == builtin_doc:  # param's own object name, not a setting
            continue
        out.append((name, p))
    return out


def section_class(p):
    """The Parameterized class a ClassSelector parameter holds (a scenario section), else None."""
    import param

    if not isinstance(p, param.ClassSelector) or not getattr(p, "is_instance", True):
        return None
    if isinstance(p.default, param.Parameterized):
        return type(p.default)
    classes = p.class_ if isinstance(p.class_, tuple | list) else (p.class_,)
    for c in classes:
        if inspect.isclass(c) and issubclass(c, param.Parameterized):
            return c
    return None


def params_table(params: list[tuple[str, object]], prefix: str = "", render=str) -> nodes.table:
    """One row per parameter; ``render`` turns a ``doc`` into a cell (text or parsed nodes)."""
    rows = []
    for name, p in params:
        rows.append(
            [
                _literal(prefix + name),
                _param_type(p),
                _literal(_short(_yaml_value(p.default), 60)),
                _param_bounds(p),
                render((p.doc or "").strip()),
            ]
        )
    return _table(["name", "type", "default", "bounds", "description"], rows, [14, 16, 16, 10, 44])


def _import(dotted: str):
    """``pkg.mod.Name`` → the object (the longest importable module prefix, then attributes)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            if i == 1:
                raise
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


class _Directive(SphinxDirective):
    def _section(self, title: str, ident: str) -> nodes.section:
        sec = nodes.section(ids=[nodes.make_id(ident)], names=[nodes.fully_normalize_name(ident)])
        sec += nodes.title(title, title)
        return sec

    def _doc(self, text: str):
        """A parameter's ``doc``: parsed as reST when it uses reST markup (roles, literals), else text.

        ``doc`` strings are also widget tooltips, so most are plain text; parsing only those that
        mark themselves up keeps stray reST characters in plain ones from becoming errors.
        """
        if re.search(r":[a-z]+(:[a-z]+)?:`|``", text):
            return self._paragraph_rst(text)
        return text

    def _paragraph_rst(self, text: str) -> list[nodes.Node]:
        """Parse a short piece of reST (a docstring's summary) into nodes."""
        container = nodes.container()
        self.state.nested_parse(
            StringList(text.splitlines(), source=""), self.content_offset, container
        )
        return list(container.children)


class ScenarioReference(_Directive):
    optional_arguments = 1
    option_spec = {"yaml": directives.flag}

    def run(self):
        import param

        target = self.arguments[0] if self.arguments else "powerfirst.scenarios.Scenario"
        cls = _import(target)
        if not (inspect.isclass(cls) and issubclass(cls, param.Parameterized)):
            raise self.error(f"{target} is not a param.Parameterized class")
        out: list[nodes.Node] = []
        plain = [(n, p) for n, p in own_params(cls) if section_class(p) is None]
        sections = [(n, p) for n, p in own_params(cls) if section_class(p) is not None]

        top = self._section("Top-level settings", "scenario-top-level")
        top += nodes.paragraph(
            text=f"Settings of {cls.__name__} itself"
            + (f"; the {len(sections)} sections follow." if sections else ".")
        )
        top += params_table(plain, render=self._doc)
        out.append(top)
        for name, p in sections:
            out.append(self._section_node(name, p, prefix=""))

        if "yaml" in self.options and hasattr(cls, "to_yaml"):
            sec = self._section("The defaults as YAML", "scenario-defaults-yaml")
            text = cls().to_yaml()
            sec += nodes.paragraph(text=f"{cls.__name__}().to_yaml():")
            block = nodes.literal_block(text, text)
            block["language"] = "yaml"
            sec += block
            out.append(sec)
        return out

    def _section_node(self, name: str, p, prefix: str) -> nodes.section:
        cls = section_class(p)
        path = prefix + name
        sec = self._section(f"{path} ({cls.__name__})", f"scenario-{path}")
        lead = (p.doc or "").strip()
        doc = inspect.getdoc(cls) or ""
        summary = doc.split("\n\n")[0].strip() if doc and cls.__doc__ else ""
        if lead:
            lead_nodes = self._doc(lead)
            if isinstance(lead_nodes, list):
                sec.extend(lead_nodes)
            else:
                sec += nodes.paragraph(text=lead)
        if summary and summary != lead:
            sec.extend(self._paragraph_rst(summary))
        params = own_params(cls)
        plain = [(n, q) for n, q in params if section_class(q) is None]
        if plain:
            sec += params_table(plain, prefix=f"{path}.", render=self._doc)
        for sub_name, q in params:
            if section_class(q) is not None:
                sec += self._section_node(sub_name, q, prefix=f"{path}.")
        return sec


class ParamsTable(_Directive):
    required_arguments = 1

    def run(self):
        import param

        try:
            cls = _import(self.arguments[0])
        except (ImportError, AttributeError):
            return []
        if not (inspect.isclass(cls) and issubclass(cls, param.Parameterized)):
            return []
        params = [(n, p) for n, p in own_params(cls) if getattr(p, "owner", cls) is cls]
        if not params:
            return []
        rubric = nodes.rubric(text="Parameters (param)")
        return [rubric, params_table(params, render=self._doc)]


# --------------------------------------------------------------------------- CLI


# Run in a fresh interpreter, so that the commands register in the order `powerfirst` itself
# imports them (the docs build imports command modules earlier, in another order) and so that
# the text is exactly what a user sees: `powerfirst.cli.main(["--help"])` and
# `main([command, "--help"])` for every sub-command of `powerfirst.cli.build_parser()`.
_CLI_HELP = r"""
import argparse, contextlib, io, json, sys
from powerfirst import cli

def run(argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        try:
            cli.main(argv)
        except SystemExit:
            pass
    return buf.getvalue()

out = [("", run(["--help"]))]
parser = cli.build_parser()
for action in parser._actions:
    if isinstance(action, argparse._SubParsersAction):
        out += [(name, run([name, "--help"])) for name in action.choices]
print(json.dumps({"prog": parser.prog, "help": out}))
"""


def cli_help(columns: int = 92) -> tuple[str, list[tuple[str, str]]]:
    """(prog, [(command or "", help text)]) of the ``powerfirst`` command."""
    import json
    import subprocess
    import sys

    toolkit = str(Path(__file__).resolve().parents[2] / "toolkit")
    env = dict(os.environ, COLUMNS=str(columns))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (toolkit, env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, "-c", _CLI_HELP], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"could not collect the CLI help:\n{proc.stderr}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    empty = [name or data["prog"] for name, text in data["help"] if not text.strip()]
    if empty:
        raise RuntimeError(f"no --help text for {', '.join(empty)}:\n{proc.stderr}")
    return data["prog"], [tuple(item) for item in data["help"]]


class CLIReference(_Directive):
    def run(self):
        try:
            prog, helps = cli_help()
        except RuntimeError as exc:
            raise self.error(str(exc)) from exc
        out = []
        for name, text in helps:
            title = f"{prog} {name}".strip()
            sec = self._section(title, f"cli-{name or prog}")
            block = nodes.literal_block(text.rstrip(), text.rstrip())
            block["language"] = "text"
            sec += block
            out.append(sec)
        return out


# --------------------------------------------------------------------------- re-exports, constants


def _public(modname: str) -> bool:
    return not any(part.startswith("_") for part in modname.split("."))


def _is_code(obj) -> bool:
    return inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj)


def _defines(modname: str, name: str) -> bool:
    mod = importlib.import_module(modname)
    try:
        src = inspect.getsource(mod)
    except (OSError, TypeError):
        return False
    return re.search(rf"^{re.escape(name)}\s*(:[^=\n]*)?=", src, flags=re.M) is not None


def _defining_module(obj, name: str, top: str) -> str | None:
    """The public module under ``top`` whose source assigns ``name`` to this very object."""
    import sys

    for modname, mod in sorted(sys.modules.items()):
        if (
            mod is None
            or not modname.startswith(top + ".")
            and modname != top
            or not _public(modname)
        ):
            continue
        if getattr(mod, name, None) is obj and _defines(modname, name):
            return modname
    return None


class ReExports(_Directive):
    required_arguments = 1

    def run(self):
        modname = self.arguments[0]
        mod = importlib.import_module(modname)
        top = modname.split(".")[0]
        entries = []
        for name in getattr(mod, "__all__", []) or []:
            obj = getattr(mod, name, None)
            if not _is_code(obj):
                continue
            home = getattr(obj, "__module__", None) or ""
            if home == modname or not (home == top or home.startswith(top + ".")):
                continue
            entries.append(f"~{home}.{obj.__qualname__}")
        if not entries:
            return []
        # full names, outside the module's context (autosummary refuses items under the current module)
        lines = [
            ".. rubric:: Re-exported here",
            "",
            ".. currentmodule:: None",
            "",
            ".. autosummary::",
            "   :nosignatures:",
            "",
        ]
        lines += [f"   {e}" for e in entries]
        lines += ["", f".. currentmodule:: {modname}"]
        return self._paragraph_rst("\n".join(lines))


class Constants(_Directive):
    required_arguments = 1

    def run(self):
        modname = self.arguments[0]
        mod = importlib.import_module(modname)
        top = modname.split(".")[0]
        domain = self.env.get_domain("py")
        rows = []
        for name in getattr(mod, "__all__", []) or []:
            if not hasattr(mod, name):
                continue
            obj = getattr(mod, name)
            if _is_code(obj) or inspect.ismodule(obj):
                continue
            full = f"{modname}.{name}"
            if _defines(modname, name):
                cell = _literal(name)
                if full not in domain.objects:
                    node_id = make_id(self.env, self.state.document, "", full)
                    cell["ids"].append(node_id)
                    domain.note_object(full, "data", node_id, location=cell)
            else:
                home = _defining_module(obj, name, top)
                if home and home != modname:
                    from sphinx import addnodes

                    cell = addnodes.pending_xref(
                        "",
                        refdomain="py",
                        reftype="data",
                        reftarget=f"{home}.{name}",
                        refexplicit=True,
                        refwarn=False,
                    )
                    cell += _literal(name)
                else:
                    cell = _literal(name)
            rows.append([cell, _literal(_short(repr(obj), 110))])
        if not rows:
            return []
        return [nodes.rubric(text="Constants"), _table(["name", "value"], rows, [24, 76])]


def skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out members a class gets from another library (scikit-learn's ``set_*_request``)."""
    if what in ("class", "exception") and not skip and callable(obj):
        home = getattr(obj, "__module__", None) or ""
        top = app.config.pf_package
        if home and not (home == top or home.startswith(top + ".")):
            return True
    return None


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.autosummary")  # pf-reexports writes autosummary tables
    app.add_config_value("pf_package", "powerfirst", "env")
    app.connect("autodoc-skip-member", skip_foreign_members)
    app.add_config_value("pf_notebooks", [], "env")
    app.connect("config-inited", copy_notebooks)
    app.add_directive("pf-scenario-reference", ScenarioReference)
    app.add_directive("pf-params", ParamsTable)
    app.add_directive("pf-cli-reference", CLIReference)
    app.add_directive("pf-reexports", ReExports)
    app.add_directive("pf-constants", Constants)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
