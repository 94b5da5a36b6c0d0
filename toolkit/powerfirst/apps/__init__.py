"""Panel apps: each a ``pn.viewable.Viewer`` whose state is a ``param.Parameterized``.

``serve()`` serves every app module that declares ``__app__ = ("name", "Class")``
(the Overview at ``/overview``; the index page lists them all).
"""

from __future__ import annotations


def apps() -> dict[str, tuple[str, str]]:
    """Every app of this package: a module that sets ``__app__ = ("name", "ViewerClass")``."""
    import ast
    import pkgutil
    from pathlib import Path

    found = {}
    for mod in pkgutil.iter_modules(__path__):
        src = Path(__path__[0], f"{mod.name}.py")
        if not src.exists():
            continue
        for node in ast.parse(src.read_text()).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__app__" for t in node.targets):
                name, cls = ast.literal_eval(node.value)
                found[name] = (f"powerfirst.apps.{mod.name}", cls)
    order = ["overview"]
    return dict(sorted(found.items(), key=lambda kv: (kv[0] not in order, kv[0])))


def app_factory(name: str):
    """A function that builds a fresh app (one per browser session)."""
    import importlib

    module, cls = apps()[name]

    def make():
        import panel as pn

        pn.extension("tabulator")
        return getattr(importlib.import_module(module), cls)()

    return make


def serve(port: int = 5006, address: str = "localhost", show: bool = False, websocket_origin=None,
          threaded: bool = False, **kwargs):
    """Serve the dashboards with Panel (blocks unless ``threaded``)."""
    import panel as pn

    served = {name: app_factory(name) for name in apps()}
    origins = list(websocket_origin or [])
    origins += [f"localhost:{port}", f"127.0.0.1:{port}"] if port else ["localhost", "127.0.0.1"]
    return pn.serve(served, port=port, address=address, show=show, websocket_origin=origins,
                    title="powerfirst", threaded=threaded, **kwargs)
