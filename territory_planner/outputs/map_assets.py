"""Offline assets for Plan → map HTML: Leaflet's JavaScript and CSS as ``data:`` URIs.

Read from the installed ``django-js-lib-leaflet`` package (the CSS with its images
inlined too) and cached once per process; ``maps.plan_map`` sets them on each map
instance in place of folium's CDN links, so the page fetches nothing from the network.
"""

from __future__ import annotations

import base64
import importlib.resources
import re
from functools import lru_cache

_LEAFLET_PACKAGE = "js_lib_leaflet"
_LEAFLET_DIR = ("static", "js_lib_leaflet")


def _asset(*parts: str) -> bytes:
    return importlib.resources.files(_LEAFLET_PACKAGE).joinpath(*_LEAFLET_DIR, *parts).read_bytes()


def _data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


@lru_cache(maxsize=1)
def leaflet_js_uri() -> str:
    """Leaflet 1.9.4 as a data: URI, without its sourceMappingURL (no map file to fetch)."""
    js = re.sub(rb"\n//# sourceMappingURL=\S+\s*$", b"\n", _asset("leaflet.js"))
    return _data_uri("text/javascript", js)


@lru_cache(maxsize=1)
def leaflet_css_uri() -> str:
    """Leaflet's CSS as a data: URI with its images (layer icon, markers) inlined too."""
    css = _asset("leaflet.css").decode("utf-8")

    def inline(match: re.Match) -> str:
        return "url(" + _data_uri("image/png", _asset("images", match.group(1))) + ")"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", inline, css)
    return _data_uri("text/css", css.encode("utf-8"))
