"""Background work: rq job functions (importable, taking ids) and the worker entry point."""
