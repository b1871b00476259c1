"""Babel extractor for flows/*.yaml: every prompt, option label and end text is a msgid."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml

TEXT_KEYS = ("menu", "input", "end", "label")


def extract_flows(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                  options: Any) -> Iterator[tuple[int, str, str, list[str]]]:
    """Yield (line, funcname, message, comments) for Babel's `pybabel extract`."""
    root = yaml.compose(fileobj.read().decode("utf-8"))
    if root is None:
        return
    yield from _walk(root)


def _walk(node: yaml.Node) -> Iterator[tuple[int, str, str, list[str]]]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value in TEXT_KEYS and isinstance(value, yaml.ScalarNode):
                text = value.value.strip()
                if text:
                    yield value.start_mark.line + 1, "", text, []
            else:
                yield from _walk(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item)
