"""Whether a POST comes from our own page, so another site cannot record an answer.

A page elsewhere can submit a form to ``/a/{token}`` if it knows a link (a forwarded
message, a shared screen); the browser then sends ``Sec-Fetch-Site: cross-site`` and that
site's ``Origin``. A POST is taken only when the browser says it is same-origin (or typed by
the user: ``none``), or its ``Origin`` is that of ``PSB_ANSWERS_BASE_URL``, as links show
it. A request with neither header proves nothing and is refused too: every browser that
can show the page sends one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from pydantic import AnyHttpUrl

SAME_ORIGIN_SITES: Final = frozenset({"same-origin", "none"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


def origin_of(url: AnyHttpUrl) -> str:
    """``scheme://host[:port]`` as a browser writes it in ``Origin`` (no default port)."""
    port = "" if url.port in (None, _DEFAULT_PORTS.get(url.scheme)) else f":{url.port}"
    return f"{url.scheme}://{url.host}{port}".lower()


def same_origin(headers: Mapping[str, str], origin: str) -> bool:
    if headers.get("Sec-Fetch-Site", "").strip().lower() in SAME_ORIGIN_SITES:
        return True
    return headers.get("Origin", "").strip().lower() == origin
