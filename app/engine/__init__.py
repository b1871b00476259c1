"""The flow engine: pure. It imports no web framework, database, queue or translation library.

tests/test_engine_purity.py walks its imports to keep it that way.
"""

from app.engine.flow import Capabilities, Choice, Invalid, Lookup, Query, Update, Valid
from app.engine.loader import FlowError, check_flows, load_flows
from app.engine.runner import Effect, Engine, Reply, State, Turn

__all__ = [
    "Capabilities",
    "Choice",
    "Effect",
    "Engine",
    "FlowError",
    "Invalid",
    "Lookup",
    "Query",
    "Reply",
    "State",
    "Turn",
    "Update",
    "Valid",
    "check_flows",
    "load_flows",
]
