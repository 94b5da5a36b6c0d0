"""Panel apps: each a ``pn.viewable.Viewer`` whose state is a ``param.Parameterized``.

``serve()`` serves every registered app (the Overview at ``/overview`` and as
the index page).
"""

from __future__ import annotations

APPS = {
    "overview": ("powerfirst.apps.overview", "Overview"),
}


def app_factory(name: str):
    """A function that builds a fresh app (one per browser session)."""
    import importlib

    module, cls = APPS[name]

    def make():
        import panel as pn

        pn.extension("tabulator")
        return getattr(importlib.import_module(module), cls)().servable()

    return make


def serve(port: int = 5006, address: str = "localhost", show: bool = False, websocket_origin=None,
          threaded: bool = False, **kwargs):
    """Serve the dashboards with Panel (blocks unless ``threaded``)."""
    import panel as pn

    apps = {name: app_factory(name) for name in APPS}
    origins = list(websocket_origin or [])
    origins += [f"localhost:{port}", f"127.0.0.1:{port}"] if port else ["localhost", "127.0.0.1"]
    return pn.serve(apps, port=port, address=address, show=show, websocket_origin=origins,
                    title="powerfirst", threaded=threaded, index=None, **kwargs)
