"""The flow engine on its own: pure values in, screens and effects out."""

from __future__ import annotations

import pytest

from app.engine import Capabilities, Choice, Engine, FlowError, Lookup, check_flows
from app.engine.loader import parse_flow
from app.engine.validators import BUILT_IN

WARDS = [Choice(f"Ward number {i:02d} of the county", f"W{i:02d}") for i in range(1, 31)]


def identity(text: str) -> str:
    return text


def shouting(text: str) -> str:  # a "locale" whose every text is longer
    return text.upper() + "!!"


CAPS = Capabilities(
    lookups={
        "wards": Lookup(lambda q: WARDS),
        "is_member": Lookup(lambda q: q.msisdn.endswith("1")),
        "answer_of": Lookup(lambda q: q.answers.get("name", "")),
    },
    validators=BUILT_IN,
    actions=frozenset({"store"}),
    vars={"org_name": 20},
)

MAIN = """
start: menu
nodes:
  menu:
    menu: "{org_name}"
    options:
      - {label: Pick a ward, next: pick}
      - {label: Members only, next: done, when: is_member}
      - {label: Your name, next: name}
  pick:
    menu: Choose your ward
    options_from: wards
    save: ward
    next: store
  store:
    action: store
    next: done
  name:
    input: What is your name?
    save: name
    next: check
  check:
    call: answer_of
    outcomes: {bob: done}
    default: greet
  greet:
    end: "Hello {name}"
  done:
    end: Thank you.
"""


def make_engine(text: str = MAIN, gettext=identity, max_chars: int = 160) -> Engine:
    flows = {"main": parse_flow("main", text, "main.yaml")}
    check_flows(flows, CAPS, {"en": gettext}, max_chars)
    return Engine(flows, CAPS, lambda lang: gettext, max_chars)


def play(engine: Engine, *inputs: str, msisdn: str = "+254700000000"):
    turn = engine.start(msisdn, "en", {"org_name": "Test County"})
    for entry in inputs:
        turn = engine.resume(turn.state, entry)
    return turn


def test_menu_hides_options_a_lookup_refuses():
    assert "Members only" not in play(make_engine()).reply.text
    assert "2. Members only" in play(make_engine(), msisdn="+254700000001").reply.text


def test_long_lists_page_with_98_and_back_with_0():
    engine = make_engine()
    first = play(engine, "1")
    assert first.reply.text.startswith("Choose your ward\n1. Ward number 01")
    assert "98. More" in first.reply.text and "0. Back" in first.reply.text
    second = play(engine, "1", "98")
    shown = [line for line in second.reply.text.splitlines() if "Ward number" in line]
    assert shown and not shown[0].startswith("1. ")  # numbering continues across pages
    assert play(engine, "1", "98", "0").reply.text == first.reply.text
    last = play(engine, "1", *["98"] * 20)
    assert "98. More" not in last.reply.text and "30. Ward number 30" in last.reply.text
    for turn in (first, second, last):
        assert len("CON " + turn.reply.text) <= 160


def test_choice_on_a_later_page_saves_its_value_and_emits_the_effect():
    turn = play(make_engine(), "1", "98", "98", "30")
    assert turn.reply == turn.reply.__class__("Thank you.", end=True)
    assert [(e.action, e.answers["ward"]) for e in turn.effects] == [("store", "W30")]


def test_input_validation_and_call_outcomes():
    engine = make_engine()
    assert play(engine, "2", "   ").reply.text.startswith("Please type an answer.\n")
    assert play(engine, "2", "bob").reply.text == "Thank you."
    assert play(engine, "2", "  Mary   Ann ").reply.text == "Hello Mary Ann"


def test_invalid_choice_reshows_the_screen_with_a_short_error():
    engine = make_engine()
    menu = play(engine).reply.text
    assert play(engine, "7").reply.text == "Invalid choice.\n" + menu
    assert play(engine, "98").reply.text == "Invalid choice.\n" + menu  # no next page here


def test_a_call_may_update_answers_and_pick_the_outcome():
    from app.engine import Update

    flow = MAIN.replace("call: answer_of", "call: shout")
    caps = Capabilities(lookups={**CAPS.lookups, "shout": Lookup(
        lambda q: Update("greet", {"name": q.answers["name"].upper()}))},
        validators=BUILT_IN, actions=CAPS.actions, vars=CAPS.vars)
    flows = {"main": parse_flow("main", flow, "main.yaml")}
    check_flows(flows, caps, {"en": identity}, 160)
    engine = Engine(flows, caps, lambda lang: identity, 160)
    turn = engine.resume(engine.start("+254700000000", "en", {"org_name": "T"}).state, "2")
    assert engine.resume(turn.state, "bob").reply.text == "Hello BOB"


def test_coming_back_to_the_same_screen_keeps_its_page_and_history():
    loop = MAIN.replace("""    save: ward
    next: store""", """    save: ward
    next: again
  again:
    call: is_member
    outcomes: {true: store}
    default: pick""")  # non-members (this caller) come back to the list
    engine = make_engine(loop)
    on_page_two = play(engine, "1", "98")
    key = on_page_two.reply.text.splitlines()[1].split(".")[0]  # the first ward on page 2
    after = engine.resume(on_page_two.state, key)
    assert after.state.position == on_page_two.state.position  # the page showing that ward
    assert after.state.history == on_page_two.state.history  # one Back still leaves the list
    assert play(engine, "1").reply == engine.resume(after.state, "0").reply  # page 1
    from_page_one = engine.resume(after.state, "1")  # typed from memory: its page is shown
    assert from_page_one.state.position.page == 0 and "\n1. Ward number 01" in \
        from_page_one.reply.text


def test_a_pinned_choice_shows_on_every_page():
    pinned = MAIN.replace("options_from: wards", "options_from: wards_and_done")
    caps = Capabilities(lookups={**CAPS.lookups, "wards_and_done": Lookup(
        lambda q: [Choice("Done", "done", "99", pinned=True)] + WARDS)},
        validators=BUILT_IN, actions=CAPS.actions, vars=CAPS.vars)
    flows = {"main": parse_flow("main", pinned, "main.yaml")}
    check_flows(flows, caps, {"en": identity}, 160)
    engine = Engine(flows, caps, lambda lang: identity, 160)
    turn = engine.resume(engine.start("+254700000000", "en", {"org_name": "T"}).state, "1")
    for _ in range(3):
        assert turn.reply.text.splitlines()[1] == "99. Done"
        assert len("CON " + turn.reply.text) <= 160
        turn = engine.resume(turn.state, "98")
    assert engine.resume(turn.state, "99").effects[0].answers["ward"] == "done"


def test_state_survives_serialisation():
    engine = make_engine()
    turn = play(engine, "1", "98")
    restored = turn.state.from_dict(turn.state.to_dict())
    assert engine.resume(restored, "0").reply == engine.resume(turn.state, "0").reply


def test_huge_input_is_bounded():
    assert play(make_engine(), "2", "x" * 100_000).reply.text.startswith("Hello xxxx")


def test_non_gsm_data_is_folded_to_gsm7():
    engine = make_engine()
    name = "Caf\u00e9 \u201cK\u00f6ln\u201d \u2014 \u2603"  # curly quotes, dash, snowman
    turn = engine.start("+254700000000", "en", {"org_name": name})
    assert turn.reply.text.splitlines()[0] == 'Café "Köln" - '


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("next: pick}", "next: nowhere}"), "main.yaml:menu: unknown target 'nowhere'"),
        (("Hello {name}", "Hello {nobody}"), "main.yaml:greet: unknown placeholder {nobody}"),
        (("options_from: wards", "options_from: planets"), "main.yaml:pick: unknown lookup"),
        (("action: store", "action: launch"), "main.yaml:store: unknown action 'launch'"),
        (("save: name\n", "save: name\n    validate: odd\n"), "main.yaml:name: unknown validator"),
        (("      - {label: Your name, next: name}\n", ""), "main.yaml:name: unreachable"),
        (("next: done\n  name:", "next: check2\n  check2:\n    call: is_member\n"
          "    default: store\n  name:"), "main.yaml:store: loops without waiting"),
        (("Thank you.", "Thank you. " + "Asante sana. " * 13), "main.yaml:done: [en] screen is"),
    ],
)
def test_loader_rejects_with_file_and_node(change, problem):
    old, new = change
    assert old in MAIN
    with pytest.raises(FlowError) as raised:
        make_engine(MAIN.replace(old, new))
    assert any(problem in p for p in raised.value.problems), raised.value.problems


def test_a_screen_that_only_overflows_in_one_locale_is_rejected():
    text = MAIN.replace("Thank you.", "T" * 155)
    make_engine(text)  # fits in English: 4 + 155 characters
    with pytest.raises(FlowError, match=r"main.yaml:done: \[en\] screen is 161 characters"):
        make_engine(text, gettext=shouting)


def test_placeholders_are_measured_at_their_longest():
    text = MAIN.replace('menu: "{org_name}"', 'menu: "{org_name} ' + "x" * 60 + '"')
    with pytest.raises(FlowError, match="main.yaml:menu"):
        make_engine(text, max_chars=100)


@pytest.mark.parametrize("bad", ["nodes: 3", ":\n  - [", "start: a\nnodes:\n  a: {menu: x}"])
def test_malformed_files_are_reported(bad):
    with pytest.raises(FlowError, match="main.yaml"):
        parse_flow("main", bad, "main.yaml")
