"""The runtime job functions use: built once by the worker process (or set by a test).

rq calls job functions by import path with only their arguments, so the runtime cannot be
passed in; one module-level slot, set explicitly, is the smallest honest way to reach it.
"""

from __future__ import annotations

import os

from app.runtime import Runtime

_runtime: Runtime | None = None
_pid: int | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime, _pid
    _runtime, _pid = runtime, os.getpid()


def current_runtime() -> Runtime:
    global _pid
    if _runtime is None:
        raise RuntimeError("no runtime: start workers with `python -m workers` "
                           "(tests call workers.context.set_runtime)")
    if _pid != os.getpid():
        # rq forked a work horse: database connections inherited from the parent belong to
        # it, so this process starts its own pool (SQLAlchemy's recipe for fork).
        _runtime.db.dispose(close=False)
        _pid = os.getpid()
    return _runtime
