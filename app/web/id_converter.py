"""Path ids are PostgreSQL integers: `<int:...>` matches only 0 to 2**31 - 1.

Werkzeug's int converter takes any number of digits; past the column's range PostgreSQL
refuses the query ("integer out of range", a 500) where SQLite just finds nothing. A path with
such an id now matches no route: 404, as for any id that does not exist.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from app.digits import MAX_ID


class DatabaseIdConverter(IntegerConverter):
    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Before any route is registered: a converter is bound when its rule is added."""
    app.url_map.converters["int"] = DatabaseIdConverter
