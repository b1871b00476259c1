"""Step a session through the flows: input in, screen and effects out, no I/O of its own.

The host passes lookups (read-only) and a gettext per language; state is a plain value the
host serialises between hops; effects are what the host must apply once the hop is over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import wraps
from typing import Any

from app.engine import render
from app.engine.flow import (
    Action,
    Call,
    Capabilities,
    Choice,
    End,
    Flow,
    Input,
    Invalid,
    Menu,
    Node,
    Query,
    Update,
    split_target,
)
from app.engine.render import BACK_KEY, HOME_KEY, MORE_KEY, Gettext, Line

MAX_STEPS_PER_HOP = 50  # calls and actions chained in one hop; more means a loop

# Data lists asked for by rendering, paging and choosing, once per hop: within a hop the same
# query has the same answer (effects are applied after it), and the host's lookups may hit the
# database. One memo per start/resume call, so concurrent hops never share one.
_HOP_LISTS: ContextVar[dict[tuple, list[Choice]] | None] = ContextVar("hop_lists", default=None)


def _one_hop(method):
    @wraps(method)
    def hop(*args, **kwargs):
        token = _HOP_LISTS.set({})
        try:
            return method(*args, **kwargs)
        finally:
            _HOP_LISTS.reset(token)
    return hop


class FlowRuntimeError(RuntimeError):
    """A flow reached a state its definition does not cover (a lookup answer with no outcome)."""


@dataclass(frozen=True)
class Position:
    flow: str
    node: str
    page: int = 0


@dataclass(frozen=True)
class State:
    position: Position
    msisdn: str
    language: str
    answers: Mapping[str, str] = field(default_factory=dict)
    vars: Mapping[str, str] = field(default_factory=dict)
    history: tuple[Position, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": _position_dict(self.position),
            "msisdn": self.msisdn,
            "language": self.language,
            "answers": dict(self.answers),
            "vars": dict(self.vars),
            "history": [_position_dict(p) for p in self.history],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> State:
        return cls(
            position=Position(**data["position"]),
            msisdn=data["msisdn"],
            language=data["language"],
            answers=dict(data.get("answers", {})),
            vars=dict(data.get("vars", {})),
            history=tuple(Position(**p) for p in data.get("history", [])),
        )


def _position_dict(p: Position) -> dict[str, Any]:
    return {"flow": p.flow, "node": p.node, "page": p.page}


@dataclass(frozen=True)
class Effect:
    action: str
    answers: Mapping[str, str]
    language: str


@dataclass(frozen=True)
class Reply:
    text: str  # without the CON/END prefix
    end: bool


@dataclass(frozen=True)
class Turn:
    state: State
    reply: Reply
    effects: tuple[Effect, ...] = ()


@dataclass(frozen=True)
class _Entry:
    key: str
    label: str
    next: str
    save_value: str | None = None
    set_language: str | None = None
    pinned: bool = False


class Engine:
    def __init__(self, flows: Mapping[str, Flow], capabilities: Capabilities,
                 gettext_for: Callable[[str], Gettext], max_chars: int,
                 home: str = "main:menu") -> None:
        self.flows = flows
        self.capabilities = capabilities
        self.gettext_for = gettext_for
        self.max_chars = max_chars
        self.home = Position(*split_target(home, ""))
        self._limits_by_flow: dict[str, Mapping[str, int]] = {}

    # -- entry points -------------------------------------------------------------------

    @_one_hop
    def start(self, msisdn: str, language: str, vars: Mapping[str, str],
              flow: str | None = None) -> Turn:
        """Begin a session at a flow's start (the home menu's flow when none is named)."""
        flow_id = flow or self.home.flow
        state = State(Position(flow_id, self.flows[flow_id].start), msisdn, language,
                      vars=dict(vars))
        effects: list[Effect] = []
        state = self._settle(state, effects)
        return Turn(state, self._render(state), tuple(effects))

    @_one_hop
    def resume(self, state: State, user_input: str) -> Turn:
        """Apply one input to a session and answer with the next screen."""
        node = self._node(state.position)
        entry = user_input.strip()
        if isinstance(node, End):
            return Turn(state, self._render(state))
        navigable = isinstance(node, Menu) or (isinstance(node, Input) and node.nav)
        if navigable and entry == HOME_KEY:
            return self._go(replace(state, history=()), f"{self.home.flow}:{self.home.node}",
                            push=False)
        if navigable and entry == BACK_KEY:
            return self._back(state)
        if isinstance(node, Menu):
            return self._choose(state, node, entry)
        assert isinstance(node, Input)
        return self._answer(state, node, user_input)

    # -- transitions --------------------------------------------------------------------

    def _back(self, state: State) -> Turn:
        if state.position.page > 0:
            page = replace(state.position, page=state.position.page - 1)
            moved = replace(state, position=page)
            return Turn(moved, self._render(moved))
        if not state.history:
            return Turn(state, self._render(state, render.INVALID_CHOICE))
        previous = replace(state, position=state.history[-1], history=state.history[:-1])
        return Turn(previous, self._render(previous))

    def _choose(self, state: State, node: Menu, entry: str) -> Turn:
        entries = self._entries(state, node)
        if entry == MORE_KEY and self._has_next_page(state, node, entries):
            moved = replace(state, position=replace(state.position, page=state.position.page + 1))
            return Turn(moved, self._render(moved))
        chosen = next((e for e in entries if e.key == entry), None)
        if chosen is None:
            return Turn(state, self._render(state, render.INVALID_CHOICE))
        answers = dict(state.answers)
        if node.save and chosen.save_value is not None:
            answers[node.save] = chosen.save_value
        language = chosen.set_language or state.language
        return self._go(replace(state, answers=answers, language=language), chosen.next,
                        focus=chosen.key)

    def _answer(self, state: State, node: Input, raw: str) -> Turn:
        validator = self.capabilities.validators[node.validate]
        outcome = validator(raw[: node.max_length * 4])  # never parse an unbounded string
        if isinstance(outcome, Invalid):
            return Turn(state, self._render(state, outcome.error))
        answers = {**state.answers, node.save: outcome.value[: node.max_length]}
        return self._go(replace(state, answers=answers), node.next)

    def _go(self, state: State, target: str, push: bool = True, focus: str | None = None) -> Turn:
        history = state.history + (replace(state.position, page=0),) if push else state.history
        flow, node = split_target(target, state.position.flow)
        moved = replace(state, position=Position(flow, node), history=history)
        effects: list[Effect] = []
        moved = self._settle(moved, effects)
        if _same_screen(moved.position, state.position):
            # Back on the list just left (a ballot after a toggle): not a step forward, so
            # "0. Back" still leads where it did, and the page shown holds the item just chosen.
            moved = replace(moved, history=state.history)
            moved = replace(moved, position=replace(moved.position,
                                                    page=self._page_of(moved, focus)))
        return Turn(moved, self._render(moved), tuple(effects))

    def _page_of(self, state: State, key: str | None) -> int:
        node = self._node(state.position)
        if not isinstance(node, Menu) or key is None:
            return 0
        entries = self._entries(state, node)
        unpinned = [e for e in entries if not e.pinned]
        position = next((i for i, e in enumerate(unpinned) if e.key == key), None)
        if position is None:
            return state.position.page  # a pinned entry: it is on every page
        pages = self._page_list(state, node, entries)
        return next((n for n, (start, stop) in enumerate(pages) if start <= position < stop), 0)

    def _settle(self, state: State, effects: list[Effect]) -> State:
        """Run calls and actions until a node that waits for the user (or ends)."""
        for _ in range(MAX_STEPS_PER_HOP):
            node = self._node(state.position)
            if isinstance(node, Call):
                state, target = self._call(state, node)
            elif isinstance(node, Action):
                effects.append(Effect(node.action, dict(state.answers), state.language))
                target = node.next
            else:
                if state.position == self.home:
                    state = replace(state, history=())  # nothing lies "back" of the main menu
                return state
            flow, node_id = split_target(target, state.position.flow)
            state = replace(state, position=Position(flow, node_id))
        raise FlowRuntimeError(f"more than {MAX_STEPS_PER_HOP} steps without input at "
                               f"{state.position.flow}:{state.position.node}")

    def _call(self, state: State, node: Call) -> tuple[State, str]:
        result = self.capabilities.lookups[node.call].fn(self._query(state))
        if isinstance(result, Update):
            state = replace(state, answers={**state.answers, **result.answers})
            result = result.outcome
        if node.save:
            state = replace(state, answers={**state.answers, node.save: str(result)})
        target = node.outcomes.get(outcome_key(result), node.default)
        if target is None:
            raise FlowRuntimeError(
                f"{state.position.flow}:{node.id}: no outcome for {outcome_key(result)!r}")
        return state, target

    # -- screens ------------------------------------------------------------------------

    def _render(self, state: State, error: str | None = None) -> Reply:
        node = self._node(state.position)
        _ = self.gettext_for(state.language)
        values = {**state.vars, **state.answers}
        limits = self._limits(state.position.flow)
        if isinstance(node, End):
            text = render.compose([render.fill(_(node.text), values, limits)], [], self.max_chars)
            return Reply(text, end=True)
        prompt = render.fill(_(node.prompt), values, limits)
        header = [_(error) if error else "", prompt]
        footer = self._footer(state, node, _)
        if isinstance(node, Input):
            return Reply(render.compose(header, footer, self.max_chars), end=False)
        assert isinstance(node, Menu)
        entries = self._entries(state, node)
        pinned = [Line(e.key, e.label) for e in entries if e.pinned]
        lines = [Line(e.key, e.label) for e in entries if not e.pinned]
        more = Line(MORE_KEY, _(render.MORE))
        pages = self._page_list(state, node, entries)
        start, stop = pages[min(state.position.page, len(pages) - 1)]
        shown = pinned + lines[start:stop] + ([more] if stop < len(lines) else [])
        return Reply(render.compose(header, shown + footer, self.max_chars), end=False)

    def _pages(self, state: State, node: Menu, lines: list[Line], footer: list[Line],
               _: Gettext) -> list[tuple[int, int]]:
        # Pages are cut as if the error line were shown, so they never shift under the user.
        values = {**state.vars, **state.answers}
        prompt = render.fill(_(node.prompt), values, self._limits(state.position.flow))
        header = [_(render.INVALID_CHOICE), prompt]
        return render.page_breaks(header, lines, footer, Line(MORE_KEY, _(render.MORE)),
                                  self.max_chars)

    def _has_next_page(self, state: State, node: Menu, entries: list[_Entry]) -> bool:
        return state.position.page + 1 < len(self._page_list(state, node, entries))

    def _page_list(self, state: State, node: Menu,
                   entries: list[_Entry]) -> list[tuple[int, int]]:
        """Pages of the unpinned entries; pinned ones count as fixed lines on every page."""
        _ = self.gettext_for(state.language)
        pinned = [Line(e.key, e.label) for e in entries if e.pinned]
        lines = [Line(e.key, e.label) for e in entries if not e.pinned]
        return self._pages(state, node, lines, pinned + self._footer(state, node, _), _)

    def _footer(self, state: State, node: Node, _: Gettext) -> list[Line]:
        if isinstance(node, Input) and not node.nav:
            return []
        footer = []
        if state.history or state.position.page > 0:
            footer.append(Line(BACK_KEY, _(render.BACK)))
        if replace(state.position, page=0) != self.home:
            footer.append(Line(HOME_KEY, _(render.HOME)))
        return footer

    def _entries(self, state: State, node: Menu) -> list[_Entry]:
        if node.options_from:
            choices = self._data_list(node.options_from, state)
            return [_dynamic_entry(i, c, node) for i, c in enumerate(choices, start=1)]
        _ = self.gettext_for(state.language)
        values = {**state.vars, **state.answers}
        limits = self._limits(state.position.flow)
        visible = [o for o in node.options if not o.when or self._holds(o.when, state)]
        return [
            _Entry(str(i), render.fill(_(o.label), values, limits), o.next, o.value,
                   o.set_language)
            for i, o in enumerate(visible, start=1)
        ]

    def _data_list(self, lookup: str, state: State) -> list[Choice]:
        memo = _HOP_LISTS.get()
        key = (lookup, state.language, tuple(sorted(state.answers.items())),
               tuple(sorted(state.vars.items())))
        if memo is not None and key in memo:
            return memo[key]
        choices = list(self.capabilities.lookups[lookup].fn(self._query(state)))
        if memo is not None:
            memo[key] = choices
        return choices

    def _holds(self, lookup: str, state: State) -> bool:
        return bool(self.capabilities.lookups[lookup].fn(self._query(state)))

    # -- helpers ------------------------------------------------------------------------

    def _node(self, position: Position) -> Node:
        return self.flows[position.flow].nodes[position.node]

    def _query(self, state: State) -> Query:
        return Query(state.msisdn, state.language, dict(state.answers), dict(state.vars))

    def _limits(self, flow_id: str) -> Mapping[str, int]:
        # Worked out once per flow: flows and capabilities do not change after construction,
        # and walking every node of a flow for each screen cost more than the screen.
        limits = self._limits_by_flow.get(flow_id)
        if limits is None:
            limits = dict(self.capabilities.vars)
            for node in self.flows[flow_id].nodes.values():
                if isinstance(node, Input):
                    limits[node.save] = node.max_length
                elif isinstance(node, Call) and node.save:
                    limits[node.save] = self.capabilities.lookups[node.call].max_length
            self._limits_by_flow[flow_id] = limits
        return limits


def _same_screen(a: Position, b: Position) -> bool:
    return (a.flow, a.node) == (b.flow, b.node)


def _dynamic_entry(position: int, choice: Choice, node: Menu) -> _Entry:
    assert node.next is not None
    return _Entry(choice.key or str(position), choice.label, node.next, choice.value,
                  pinned=choice.pinned)


def outcome_key(result: object) -> str:
    """How a lookup's answer names an outcome: true/false, none, or the text lowercased."""
    if isinstance(result, bool):
        return "true" if result else "false"
    if result is None:
        return "none"
    return str(result).strip().lower()


