"""Read flows/*.yaml into Flow values and reject anything that could misbehave on a phone.

Every problem is reported as `file:node: what is wrong`, all of them at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from app.engine import render
from app.engine.flow import (
    Action,
    Call,
    Capabilities,
    End,
    Flow,
    Input,
    Menu,
    Node,
    Option,
    split_target,
)
from app.engine.render import BACK_KEY, HOME_KEY, MORE_KEY, Gettext, Line

NODE_KINDS = ("menu", "input", "call", "action", "end")
SHORTEST_DATA_LABEL = 12  # a dynamic list must leave room for at least this much of a label


class FlowError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_flows(directory: Path) -> dict[str, Flow]:
    """Parse every YAML file in `directory`; structural problems raise FlowError."""
    flows: dict[str, Flow] = {}
    problems: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            flows[path.stem] = parse_flow(path.stem, path.read_text(encoding="utf-8"), str(path))
        except FlowError as exc:
            problems.extend(exc.problems)
    if problems:
        raise FlowError(problems)
    return flows


def parse_flow(flow_id: str, text: str, source: str) -> Flow:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise FlowError([f"{source}: not valid YAML: {exc}"]) from exc
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), dict):
        raise FlowError([f"{source}: needs a `nodes:` mapping"])
    problems: list[str] = []
    nodes: dict[str, Node] = {}
    for node_id, spec in data["nodes"].items():
        try:
            nodes[str(node_id)] = _parse_node(str(node_id), spec)
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"{source}:{node_id}: {exc}")
    start = str(data.get("start", ""))
    if start not in data["nodes"]:
        problems.append(f"{source}: start node {start!r} is not defined")
    if problems:
        raise FlowError(problems)
    return Flow(flow_id, start, nodes, source)


def _parse_node(node_id: str, spec: Any) -> Node:
    if not isinstance(spec, dict):
        raise TypeError("a node must be a mapping")
    kinds = [k for k in NODE_KINDS if k in spec]
    if len(kinds) != 1:
        raise ValueError(f"a node needs exactly one of {', '.join(NODE_KINDS)}")
    kind = kinds[0]
    if kind == "menu":
        options = tuple(_parse_option(o) for o in spec.get("options", []))
        if bool(options) == bool(spec.get("options_from")):
            raise ValueError("a menu needs either `options` or `options_from`")
        if spec.get("options_from") and not spec.get("next"):
            raise ValueError("a menu with `options_from` needs `next`")
        return Menu(node_id, _text(spec["menu"]), options, spec.get("save"),
                    spec.get("options_from"), spec.get("next"))
    if kind == "input":
        return Input(node_id, _text(spec["input"]), spec["save"], spec["next"],
                     spec.get("validate", "text"), int(spec.get("max_length", 60)),
                     bool(spec.get("nav", True)))
    if kind == "call":
        outcomes = {_outcome_name(k): str(v) for k, v in (spec.get("outcomes") or {}).items()}
        if not outcomes and not spec.get("default"):
            raise ValueError("a call needs `outcomes` or a `default`")
        return Call(node_id, spec["call"], outcomes, spec.get("default"), spec.get("save"))
    if kind == "action":
        return Action(node_id, spec["action"], spec["next"])
    return End(node_id, _text(spec["end"]))


def _parse_option(spec: Any) -> Option:
    if not isinstance(spec, dict):
        raise TypeError("an option must be a mapping with `label` and `next`")
    value = spec.get("value")
    return Option(_text(spec["label"]), str(spec["next"]),
                  None if value is None else str(value), spec.get("set_language"),
                  spec.get("when"))


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("text must be a non-empty string")
    return value.strip()


def _outcome_name(key: Any) -> str:
    # YAML reads `true:`/`yes:` as booleans; outcomes compare as lowercase text.
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key).strip().lower()


# -- validation against the host's capabilities and every locale ---------------------------


def check_flows(flows: Mapping[str, Flow], capabilities: Capabilities,
                gettexts: Mapping[str, Gettext], max_chars: int, home: str = "main:menu") -> None:
    """Raise FlowError listing every problem; return quietly when the flows are sound."""
    problems: list[str] = []
    home_flow, home_node = split_target(home, "")
    if home_node not in getattr(flows.get(home_flow), "nodes", {}):
        problems.append(f"flows: the home menu {home!r} is missing")
    for flow in flows.values():
        for node in flow.nodes.values():
            where = f"{flow.source}:{node.id}"
            problems.extend(f"{where}: {p}" for p in _node_problems(flow, node, flows,
                                                                   capabilities, gettexts))
            for language, _ in gettexts.items():
                problems.extend(f"{where}: [{language}] {p}"
                                for p in _size_problems(flow, node, capabilities, _, max_chars))
    problems.extend(_unreachable(flows))
    problems.extend(_loops(flows))
    if problems:
        raise FlowError(problems)


def _node_problems(flow: Flow, node: Node, flows: Mapping[str, Flow],
                   caps: Capabilities, gettexts: Mapping[str, Gettext]) -> Iterable[str]:
    for target in _targets(node):
        target_flow, target_node = split_target(target, flow.id)
        if target_flow not in flows or target_node not in flows[target_flow].nodes:
            yield f"unknown target {target!r}"
    known = _known_names(flow, caps)
    for text in _texts(node):
        for name in render.placeholders(text):
            if name not in known:
                yield f"unknown placeholder {{{name}}}"
    lookups = [o.when for o in getattr(node, "options", ()) if o.when]
    if isinstance(node, Menu) and node.options_from:
        lookups.append(node.options_from)
    if isinstance(node, Call):
        lookups.append(node.call)
    yield from (f"unknown lookup {name!r}" for name in lookups if name not in caps.lookups)
    if isinstance(node, Input) and node.validate not in caps.validators:
        yield f"unknown validator {node.validate!r}"
    if isinstance(node, Action) and node.action not in caps.actions:
        yield f"unknown action {node.action!r}"
    for option in getattr(node, "options", ()):
        if option.set_language and option.set_language not in gettexts:
            yield f"unknown language {option.set_language!r}"


def _targets(node: Node) -> list[str]:
    if isinstance(node, Menu):
        return [o.next for o in node.options] + ([node.next] if node.next else [])
    if isinstance(node, Input | Action):
        return [node.next]
    if isinstance(node, Call):
        return list(node.outcomes.values()) + ([node.default] if node.default else [])
    return []


def _texts(node: Node) -> list[str]:
    if isinstance(node, Menu):
        return [node.prompt] + [o.label for o in node.options]
    if isinstance(node, Input):
        return [node.prompt]
    if isinstance(node, End):
        return [node.text]
    return []


def _known_names(flow: Flow, caps: Capabilities) -> dict[str, int]:
    """Placeholders a flow may use, with the longest value each can have."""
    names = dict(caps.vars)
    for node in flow.nodes.values():
        if isinstance(node, Input):
            names[node.save] = node.max_length
        elif isinstance(node, Call) and node.save and node.call in caps.lookups:
            names[node.save] = caps.lookups[node.call].max_length
    return names


def _size_problems(flow: Flow, node: Node, caps: Capabilities, _: Gettext,
                   max_chars: int) -> Iterable[str]:
    """Render the worst case of each screen: longest values, error line, every nav line."""
    limits = _known_names(flow, caps)
    widest = {name: "W" * length for name, length in limits.items()}

    def fill(text: str) -> str:
        return render.fill(_(text), widest, limits)

    budget = max_chars - render.PREFIX_LENGTH
    nav = [Line(BACK_KEY, _(render.BACK)), Line(HOME_KEY, _(render.HOME))]
    if isinstance(node, End):
        lines = [fill(node.text)]
    elif isinstance(node, Input):
        error = max((_(e) for e in _validator_errors(caps, node.validate)), key=len, default="")
        lines = [error, fill(node.prompt)] + ([n.text() for n in nav] if node.nav else [])
    elif isinstance(node, Menu):
        header = [_(render.INVALID_CHOICE), fill(node.prompt)]
        options = [Line(str(i), fill(o.label)) for i, o in enumerate(node.options, start=1)]
        if node.options_from:
            options = [Line("97", "W" * SHORTEST_DATA_LABEL)]
        more = Line(MORE_KEY, _(render.MORE))
        # Long menus page; every page must fit, with "98. More" where more follows.
        for start, stop in render.page_breaks(header, options, nav, more, max_chars):
            shown = options[start:stop] + ([more] if stop < len(options) else [])
            length = len("\n".join(header + [o.text() for o in shown + nav]))
            if length > budget:
                yield f"screen is {length + render.PREFIX_LENGTH} characters, over {max_chars}"
                return
        return
    else:
        return
    length = len("\n".join(line for line in lines if line))
    if length > budget:
        yield f"screen is {length + render.PREFIX_LENGTH} characters, over {max_chars}"


def _validator_errors(caps: Capabilities, name: str) -> list[str]:
    # Validators declare their messages by returning them; probe with inputs that fail.
    validator: Callable | None = caps.validators.get(name)
    if validator is None:
        return []
    errors = []
    for probe in ("", "x", "-1", "999"):
        outcome = validator(probe)
        if hasattr(outcome, "error"):
            errors.append(outcome.error)
    return errors


def _unreachable(flows: Mapping[str, Flow]) -> Iterable[str]:
    seen: set[tuple[str, str]] = set()
    todo = [(f.id, f.start) for f in flows.values()]
    while todo:
        flow_id, node_id = todo.pop()
        if (flow_id, node_id) in seen or flow_id not in flows:
            continue
        node = flows[flow_id].nodes.get(node_id)
        if node is None:
            continue
        seen.add((flow_id, node_id))
        todo.extend(split_target(t, flow_id) for t in _targets(node))
    for flow in flows.values():
        for node_id in flow.nodes:
            if (flow.id, node_id) not in seen:
                yield f"{flow.source}:{node_id}: unreachable from any start"


def _loops(flows: Mapping[str, Flow]) -> Iterable[str]:
    """Calls and actions that lead back to themselves without asking the user anything."""
    def automatic(flow_id: str, node_id: str) -> bool:
        node = flows.get(flow_id, Flow("", "", {}, "")).nodes.get(node_id)
        return isinstance(node, Call | Action)

    for flow in flows.values():
        for node_id, node in flow.nodes.items():
            if not isinstance(node, Call | Action):
                continue
            stack, seen = [(flow.id, node_id)], set()
            while stack:
                current = stack.pop()
                for target in _targets(flows[current[0]].nodes[current[1]]):
                    nxt = split_target(target, current[0])
                    if nxt == (flow.id, node_id):
                        yield f"{flow.source}:{node_id}: loops without waiting for input"
                        stack = []
                        break
                    if nxt not in seen and automatic(*nxt):
                        seen.add(nxt)
                        stack.append(nxt)
