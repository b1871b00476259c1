"""WSGI entry point: `gunicorn wsgi:app`."""

import os

from app.logs import configure_logging
from app.settings import log_format_of
from app.web.factory import create_app

configure_logging(log_format_of(os.environ))  # JSON lines in production, numbers masked
app = create_app()
