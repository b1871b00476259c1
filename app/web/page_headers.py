"""Headers for pages people read (the console, public results): no caching, no framing.

Those pages have no inline scripts or styles, so a strict Content-Security-Policy costs nothing.
(The simulator, a development tool with inline script, does not use them.)
"""

from __future__ import annotations

from flask import Response

STRICT_POLICY = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"


def protect_page(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", STRICT_POLICY)
    return response
