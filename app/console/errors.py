"""Error pages and response headers for the console."""

from __future__ import annotations

from flask import render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from app.console.blueprint import bp
from app.web.page_headers import protect_page

_MESSAGES = {
    400: "The form could not be accepted.",
    403: "Your role does not give access to this page.",
    404: "There is no such page.",
    413: "What was sent is too large: a file may have at most 5 MB. Split it, or import it "
         "with the command line.",
}


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError) -> tuple[str, int]:
    return render_template("console/error.html", code=400,
                           message="This form expired or did not come from the console. "
                                   "Go back, reload the page and try again."), 400


@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(413)
def http_error(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    return render_template("console/error.html", code=code,
                           message=_MESSAGES.get(code, error.description)), code


@bp.after_request
def protect_pages(response: Response) -> Response:
    # Pages show residents' numbers: keep them out of caches, frames and other sites' logs.
    return protect_page(response)
