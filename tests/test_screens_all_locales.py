"""Every screen of every flow, rendered in every locale, at its longest, within the limit."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from app.engine.flow import End, Input, Menu
from app.engine.render import _GSM7
from app.engine.runner import Engine, Position, State
from app.i18n import Catalogs
from app.services.flow_host import SCREEN_VARS, build_capabilities
from app.settings import Settings

SETTINGS = Settings()
CATALOGS = Catalogs(SETTINGS.locales_dir)


def engine() -> Engine:
    from app.runtime import load_checked_flows

    caps = build_capabilities()
    flows = load_checked_flows(SETTINGS, CATALOGS, caps)
    return Engine(flows, caps, CATALOGS.gettext_for, SETTINGS.ussd_max_chars)


def screens():
    eng = engine()
    for language in CATALOGS.languages:
        for flow in eng.flows.values():
            for node in flow.nodes.values():
                if isinstance(node, Menu | Input | End):  # calls and actions show nothing
                    yield language, flow.id, node.id


@pytest.mark.parametrize(("language", "flow", "node"), list(screens()))
def test_screen_fits_in_every_locale(language, flow, node):
    eng = engine()
    longest_vars = {name: "W" * length for name, length in SCREEN_VARS.items()}
    answers = {n.save: "W" * n.max_length for f in eng.flows.values()
               for n in f.nodes.values() if isinstance(n, Input)}
    history = (Position("main", "menu"),)  # so "0. Back" shows too
    state = State(Position(flow, node), "+254700000000", language, answers, longest_vars,
                  history)
    if isinstance(eng.flows[flow].nodes[node], Menu | Input):
        turn = eng.resume(state, "not-an-option")  # the error line makes the screen longest
    else:
        turn = eng.resume(state, "")
    text = ("END " if turn.reply.end else "CON ") + turn.reply.text
    assert len(text) <= SETTINGS.ussd_max_chars, text
    assert all(ch in _GSM7 for ch in text), text


@pytest.mark.parametrize("language", [lang for lang in CATALOGS.languages if lang != "en"])
def test_catalog_is_complete(language):
    path = SETTINGS.locales_dir / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle)
    with (SETTINGS.locales_dir / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    missing = [m.id for m in template if m.id and (m.id not in catalog or not catalog[m.id].string)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not missing, f"untranslated in {language}: {missing}"
    assert not fuzzy, f"fuzzy in {language}: {fuzzy}"
