"""The page every app is served in: Panel's FastListTemplate, with no outside host.

Panel's Fast design links the Open Sans font from fonts.googleapis.com; a served page that fetches
from an outside host leaks each visit to that host and breaks offline.  :class:`OfflineFast` is the
same design without that link, and the pages use the system font stack instead.  Everything else
the pages load (Bokeh, Panel and the Fast components) is served by the powerfirst server itself.
"""

from __future__ import annotations

import panel as pn
from panel.theme.fast import Fast

__all__ = ["OfflineFast", "SYSTEM_FONTS", "page"]

#: fonts every platform has; no download
SYSTEM_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'


class OfflineFast(Fast):
    """Panel's Fast design without the externally hosted font."""

    _resources = {k: v for k, v in Fast._resources.items() if k != "font"}


# Panel finds a design's bundled files (fast/js/fast_design.js) under the lower-cased class name
OfflineFast.__name__ = OfflineFast.__qualname__ = "Fast"


def page(title: str, sidebar, main, **kwargs) -> pn.template.FastListTemplate:
    """A FastListTemplate page with the offline design and the system fonts."""
    kwargs.setdefault("design", OfflineFast)
    kwargs.setdefault("font", SYSTEM_FONTS)
    return pn.template.FastListTemplate(title=title, sidebar=sidebar, main=main, **kwargs)
