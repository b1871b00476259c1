"""Flow definitions: what a YAML file in flows/ means, as frozen values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


def N_(msgid: str) -> str:
    """Mark a string for extraction; it is translated later, when rendered."""
    return msgid


@dataclass(frozen=True)
class Option:
    label: str  # English text, the msgid
    next: str  # "node" in the same flow or "flow:node"
    value: str | None = None  # saved under the menu's `save` name
    set_language: str | None = None  # switches the session's language on choice
    when: str | None = None  # a lookup that must answer true for the option to show


@dataclass(frozen=True)
class Menu:
    id: str
    prompt: str
    options: tuple[Option, ...] = ()
    save: str | None = None
    options_from: str | None = None  # a lookup returning Choices (data, not translated)
    next: str | None = None  # where a dynamic choice leads


@dataclass(frozen=True)
class Input:
    id: str
    prompt: str
    save: str
    next: str
    validate: str = "text"
    max_length: int = 60
    nav: bool = True  # False when "0" is a meaningful answer here


@dataclass(frozen=True)
class Call:
    """A read-only lookup whose answer picks the next node."""

    id: str
    call: str
    outcomes: Mapping[str, str]
    default: str | None = None
    save: str | None = None


@dataclass(frozen=True)
class Action:
    """Asks the host to do something (store, switch, send) once the hop is over."""

    id: str
    action: str
    next: str


@dataclass(frozen=True)
class End:
    id: str
    text: str


Node = Menu | Input | Call | Action | End
INTERACTIVE = (Menu, Input)


@dataclass(frozen=True)
class Flow:
    id: str
    start: str
    nodes: Mapping[str, Node]
    source: str  # file path, for error messages


@dataclass(frozen=True)
class Choice:
    """One entry of a list that comes from data (wards, proposals, projects)."""

    label: str
    value: str
    key: str | None = None  # what the user types; the position in the list when None
    pinned: bool = False  # shown on every page, before the others (e.g. "99. Done")


@dataclass(frozen=True)
class Query:
    """What a lookup may know about the session asking it."""

    msisdn: str
    language: str
    answers: Mapping[str, str]
    vars: Mapping[str, str]


@dataclass(frozen=True)
class Update:
    """A lookup's answer that also sets session answers: the outcome picks the next node."""

    outcome: str
    answers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Valid:
    value: str


@dataclass(frozen=True)
class Invalid:
    error: str  # msgid of a short correction


Validator = Callable[[str], Valid | Invalid]
LookupFn = Callable[[Query], object]


@dataclass(frozen=True)
class Lookup:
    fn: LookupFn
    max_length: int = 30  # longest text it may put on a screen when saved and shown


@dataclass(frozen=True)
class Capabilities:
    """What the host offers flows: names the loader checks and functions the runner calls."""

    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    validators: Mapping[str, Validator] = field(default_factory=dict)
    actions: frozenset[str] = frozenset()
    vars: Mapping[str, int] = field(default_factory=dict)  # name -> longest value


def split_target(target: str, current_flow: str) -> tuple[str, str]:
    """'node' or 'flow:node' -> (flow, node)."""
    if ":" in target:
        flow, node = target.split(":", 1)
        return flow, node
    return current_flow, target
