"""Persistence: SQLAlchemy models and sessions. Knows nothing of Flask or the flow engine."""
