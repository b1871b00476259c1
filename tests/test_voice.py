"""The feedback line: AT's voice callbacks posted step by step, every reply checked against AT's
action set, on both stacks."""

from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.channels import at_voice
from app.channels.at_voice import Dial, GetDigits, Play, Record, Redirect, Reject, Say
from app.db.models import Role, Ticket, TicketCategory, TicketChannel, User, VoiceCall
from app.services.organizations import organization_by_code
from app.settings import SettingsError, load_settings
from app.tickets.notices import day_text
from app.web import at_voice as voice_route
from tests.console_support import add_user
from tests.factories import add_counties
from tests.test_observability import sample, scrape
from tests.ticket_support import CALLER, NEIGHBOUR, open_one, outbox_to, ticket
from tests.voice_support import (
    VOICE_NUMBER,
    XmlReply,
    check_reply,
    final_form,
    turn_of,
    voice_form,
)

AUDIO = "https://cdn.example.org/baraza/{organization}/{language}/{prompt}.mp3"
RECORDING = "https://voice.africastalking.com/recordings/ATVId_1.mp3"


@pytest.fixture
def counties(runtime):
    add_counties(runtime)


@pytest.fixture
def recorded(runtime, counties):
    """Kiswahili and Kalenjin prompts recorded (Nandi speaks sw and en: sw, then English)."""
    runtime.settings = runtime.settings.with_overrides(voice_audio_url=AUDIO,
                                                       voice_audio_languages=("sw", "kln"))


def call(client, **fields):
    """The first POST of a call."""
    return check_reply(client.post("/at/voice", data=voice_form(**fields)))


def press(client, reply, digits: str, session: str = "ATVId_1", **fields):
    """The caller presses keys at `reply`'s question; AT posts them to its callbackUrl."""
    return check_reply(client.post(reply.next_url(),
                                   data=voice_form(session, dtmfDigits=digits, **fields)))


def record(client, reply, url: str = RECORDING, session: str = "ATVId_1"):
    return check_reply(client.post(reply.next_url(), data=voice_form(session, recordingUrl=url)))


def state_of(runtime, session: str = "ATVId_1") -> VoiceCall:
    with runtime.sessions() as db:
        return db.scalar(select(VoiceCall).where(VoiceCall.session_id == session))


def tickets_count(runtime) -> int:
    with runtime.sessions() as db:
        return db.scalar(select(func.count()).select_from(Ticket))


def audio(prompt: str, language: str = "sw") -> str:
    return AUDIO.format(organization="nandi", language=language, prompt=prompt)


def spelled(reference: str) -> str:
    return ", ".join(reference) + "."


def agent(runtime, role: Role, msisdn: str | None, email: str, active: bool = True) -> None:
    add_user(runtime, role.value, "nandi", email=email)
    with runtime.sessions.begin() as db:
        user = db.scalar(select(User).where(User.email == email))
        user.msisdn, user.active = msisdn, active


# -- the XML builder (pure) -----------------------------------------------------------------


def test_text_and_attributes_are_escaped_and_rendered_in_a_fixed_order():
    xml = at_voice.render([
        Say('Fish & chips <now> "hot"\x07', voice="woman"),
        GetDigits(Play("https://x.example/a.mp3?x=1&y=2"), num_digits=1, timeout=20,
                  finish_on_key="#", callback_url="https://b.example/at/voice?token=a&turn=3"),
        Record(Say("After the beep."), max_length=120, finish_on_key="#", trim_silence=True,
               play_beep=True),
        Record(), Dial(("+254700000001", "+254700000002"), sequential=False),
        Redirect("https://b.example/next?a=1&b=2"), Reject(),
    ])
    assert xml == (
        '<?xml version="1.0" encoding="UTF-8"?><Response>'
        '<Say voice="woman">Fish &amp; chips &lt;now&gt; "hot"</Say>'
        '<GetDigits numDigits="1" timeout="20" finishOnKey="#" '
        'callbackUrl="https://b.example/at/voice?token=a&amp;turn=3">'
        '<Play url="https://x.example/a.mp3?x=1&amp;y=2"/></GetDigits>'
        '<Record finishOnKey="#" maxLength="120" trimSilence="true" playBeep="true">'
        '<Say>After the beep.</Say></Record><Record/>'
        '<Dial phoneNumbers="+254700000001,+254700000002" sequential="false"/>'
        '<Redirect>https://b.example/next?a=1&amp;b=2</Redirect><Reject/></Response>')


def test_no_actions_is_an_empty_response():
    assert at_voice.render([]) == '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def test_the_form_never_raises_and_reads_the_final_fields():
    form = at_voice.VoiceForm.from_form(final_form(dialDurationInSeconds="40.0",
                                                   durationInSeconds="abc"))
    assert not form.active and form.duration_seconds is None
    assert form.dial_duration_seconds == 40 and form.amount == "3.5000"
    assert at_voice.VoiceForm.from_form({}).active  # only "0" marks the final notification


# -- settings ------------------------------------------------------------------------------


def test_voice_settings_are_read_and_checked():
    settings = load_settings({"VOICE_AUDIO_URL": AUDIO, "VOICE_AUDIO_LANGUAGES": "sw, kln,sw",
                              "VOICE_RECORD_SECONDS": "90", "VOICE_QUEUE_NAME": "complaints",
                              "VOICE_AGENT_NUMBERS": "+254700000001,+254700000002"})
    assert settings.voice_audio_languages == ("sw", "kln")
    assert settings.voice_record_seconds == 90
    assert settings.voice_agent_numbers == ("+254700000001", "+254700000002")
    assert load_settings({}).voice_record_seconds == 120


@pytest.mark.parametrize("environ", [
    {"VOICE_AUDIO_URL": "https://cdn.example.org/{language}.mp3"},  # no {prompt}
    {"VOICE_AUDIO_URL": "https://cdn.example.org/{language}/{prompt}/{secret}.mp3"},
    {"VOICE_AUDIO_URL": "ftp://cdn.example.org/{language}/{prompt}.mp3"},
    {"VOICE_AUDIO_LANGUAGES": "sw"},  # recordings, but no URL
    {"VOICE_AUDIO_URL": AUDIO, "VOICE_AUDIO_LANGUAGES": "Kiswahili"},
    {"VOICE_AGENT_NUMBERS": "0722000111"},
    {"VOICE_RECORD_SECONDS": "0"},
    {"VOICE_QUEUE_NAME": "a queue with spaces"},
    {"VOICE_HOLD_MUSIC_URL": "music.mp3"},
])
def test_a_voice_setting_that_cannot_work_stops_the_start(environ):
    with pytest.raises(SettingsError, match="VOICE_"):
        load_settings(environ)


# -- the menu ------------------------------------------------------------------------------


def test_with_no_recordings_the_caller_hears_english_and_the_main_menu(client, counties):
    reply = call(client)
    assert reply.names == ["Say", "GetDigits", "Say", "GetDigits", "Say"]
    assert reply.spoken().startswith("Welcome to the Nandi County feedback line. To leave a "
                                     "complaint, press 1.")
    menu = reply.first("GetDigits")
    assert menu.get("numDigits") == "1"
    assert reply.next_url() == "http://localhost/at/voice?turn=1"


def test_the_caller_chooses_among_the_recorded_languages_and_english(client, runtime, recorded):
    reply = call(client)
    # No input: the question once more, then goodbye, all in the organization's first language.
    assert reply.names == ["GetDigits", "Play", "GetDigits", "Play"]
    assert reply.spoken().split() == [audio("choose_language"), audio("no_input"),
                                      audio("choose_language"), audio("goodbye")]
    english = press(client, reply, "2")
    assert english.spoken().startswith("To leave a complaint, press 1.")
    assert state_of(runtime).language == "en" and state_of(runtime).state == "menu"


def test_choosing_kiswahili_plays_the_kiswahili_recordings(client, runtime, recorded):
    menu = press(client, call(client), "1")
    assert menu.first("GetDigits")[0].get("url") == audio("main_menu")
    assert state_of(runtime).language == "sw"


def test_the_language_menu_in_english_names_each_language(client, runtime, counties):
    runtime.settings = runtime.settings.with_overrides(voice_audio_url=AUDIO,
                                                       voice_audio_languages=("kln",))
    with runtime.sessions.begin() as db:
        organization_by_code(db, "nandi").languages = ["en", "kln", "sw"]
    reply = call(client)
    assert reply.first("GetDigits")[0].text == (
        "Welcome to the Nandi County feedback line. For English, press 1. "
        "For Kalenjin, press 2.")  # Kiswahili has no recordings here: not offered


def test_a_wrong_key_repeats_the_menu_once_then_says_goodbye(client, runtime, counties):
    menu = call(client)
    again = press(client, menu, "9")
    assert again.names == ["Say", "GetDigits", "Say"]
    assert again.spoken().startswith("Sorry, that is not one of the choices. To leave")
    assert turn_of(again.next_url()) == "2"
    # AT repeating the first "9" (same turn) gets the same answer and counts once.
    repeated = client.post(menu.next_url(), data=voice_form(dtmfDigits="9"))
    assert check_reply(repeated).spoken() == again.spoken()
    assert state_of(runtime).misses == 1
    bye = press(client, again, "9")
    assert bye.names == ["Say", "Say"]
    assert bye.spoken() == ("Sorry, that is not one of the choices. "
                            "Thank you for calling. Goodbye.")
    assert state_of(runtime).state == "done"


def test_a_wrong_language_key_then_a_good_one(client, runtime, recorded):
    again = press(client, call(client), "7")
    assert again.spoken().split() == [audio("wrong_key"), audio("choose_language"),
                                      audio("goodbye")]
    menu = press(client, again, "1")
    assert menu.first("GetDigits")[0].get("url") == audio("main_menu")
    assert state_of(runtime).misses == 0


def test_no_input_has_a_spoken_fallback_after_every_question(client, counties):
    reply = call(client)
    assert reply.spoken().endswith("We did not hear your choice. To leave a complaint, press 1. "
                                   "To check a complaint, press 2. To speak to an agent, "
                                   "press 3. Thank you for calling. Goodbye.")


def test_a_repeated_first_callback_is_answered_identically_and_stored_once(client, runtime,
                                                                          counties):
    first = client.post("/at/voice", data=voice_form()).get_data()
    assert client.post("/at/voice", data=voice_form()).get_data() == first
    with runtime.sessions() as db:
        assert db.scalar(select(func.count()).select_from(VoiceCall)) == 1


# -- 1: leave a complaint --------------------------------------------------------------------


def test_a_recorded_complaint_makes_one_ticket_and_an_sms(client, runtime, counties):
    ask = press(client, call(client), "1")
    rec = ask.first("Record")
    assert rec.attrib == {"finishOnKey": "#", "maxLength": "120", "trimSilence": "true",
                          "playBeep": "true", "callbackUrl": "http://localhost/at/voice?turn=2"}
    assert ask.names == ["Record", "Say", "Say"]
    thanks = record(client, ask)
    with runtime.sessions() as db:
        made = db.scalar(select(Ticket))
        assert (made.channel, made.category) == (TicketChannel.VOICE, TicketCategory.OTHER)
        assert made.recording_url == RECORDING and made.msisdn == CALLER
        assert made.source_key == "voice:ATVId_1" and made.description
        (sms,) = outbox_to(db, CALLER)
    assert made.reference in sms
    assert thanks.spoken() == (f"Thank you. Your complaint is received. Your reference number "
                               f"is {spelled(made.reference)} We have also sent the reference "
                               f"number to you by SMS. Thank you for calling. Goodbye.")
    assert "GetDigits" not in thanks.names
    # AT repeats the recording callback, then the call ends with the URL once more.
    assert record(client, ask).spoken() == thanks.spoken()
    client.post("/at/voice", data=final_form(recordingUrl=RECORDING))
    assert tickets_count(runtime) == 1
    with runtime.sessions() as db:
        assert len(outbox_to(db, CALLER)) == 1
    assert state_of(runtime).ticket_id == made.id


def test_a_recording_callback_arriving_twice_at_once_makes_one_ticket(app, runtime, stack,
                                                                      counties):
    if stack == "dev":
        pytest.skip("SQLite takes one writer at a time: only PostgreSQL can race")
    client = app.test_client()
    ask = press(client, call(client), "1")
    start, replies = threading.Barrier(2), []

    def deliver() -> None:
        start.wait()
        replies.append(app.test_client().post(ask.next_url(),
                                              data=voice_form(recordingUrl=RECORDING)))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = (check_reply(reply).spoken() for reply in replies)
    assert first == second and first.startswith("Thank you. Your complaint is received.")
    assert tickets_count(runtime) == 1


def test_in_kiswahili_the_reference_is_played_digit_by_digit(client, runtime, recorded):
    menu = press(client, call(client), "1")
    ask = press(client, menu, "1")
    assert ask.first("Record")[0].get("url") == audio("record")
    thanks = record(client, ask)
    with runtime.sessions() as db:
        made = db.scalar(select(Ticket))
    assert made.language == "sw"
    assert thanks.spoken().split() == [audio("received"),
                                       *[audio(f"digit_{d}") for d in made.reference],
                                       audio("sms_sent"), audio("goodbye")]


def test_no_recording_asks_once_more_then_says_goodbye(client, runtime, counties):
    ask = press(client, call(client), "1")
    again = record(client, ask, url="")
    assert again.names == ["Say", "Record", "Say", "Say"]
    assert again.spoken().startswith("We did not get a recording. Please describe")
    bye = record(client, again, url="")
    assert bye.names == ["Say", "Say"]
    assert tickets_count(runtime) == 0


def test_a_caller_who_hangs_up_after_recording_still_gets_a_ticket(client, runtime, counties):
    press(client, call(client), "1")
    assert client.post("/at/voice", data=final_form(recordingUrl=RECORDING)).status_code == 200
    with runtime.sessions() as db:
        made = db.scalar(select(Ticket))
        assert made.recording_url == RECORDING
        assert made.reference in outbox_to(db, CALLER)[0]


def test_a_recording_url_that_is_no_web_address_is_not_kept(client, runtime, counties):
    press(client, call(client), "1")
    client.post("/at/voice", data=final_form(recordingUrl="javascript:alert(1)"))
    with runtime.sessions() as db:
        made = db.scalar(select(Ticket))
        assert made.recording_url is None and made.description  # an agent calls back


def test_a_turn_that_is_no_plain_number_is_ignored_not_a_crash(client, counties):
    for turn in ("²", "٣", "9" * 40, "-1"):
        response = client.post(f"/at/voice?turn={turn}", data=voice_form())
        assert response.status_code == 200
        check_reply(response)


def test_in_production_the_next_step_is_always_https(app):
    # Behind a TLS proxy that BARAZA_TRUSTED_PROXIES does not name, requests look like http.
    with app.test_request_context("/at/voice?token=s3cret", base_url="http://baraza.example.org"):
        assert voice_route._reply_url(True) == "https://baraza.example.org/at/voice?token=s3cret"
        assert voice_route._reply_url(False).startswith("http://baraza.example.org/at/voice?")


# -- 2: check a complaint ----------------------------------------------------------------------


def _ask_reference(client):
    ask = press(client, call(client), "2")
    prompt = ask.first("GetDigits")
    assert prompt.get("finishOnKey") == "#" and prompt.get("numDigits") is None
    assert ask.spoken().startswith("Please enter your complaint reference number")
    return ask


def test_the_caller_hears_the_status_of_their_complaint(client, runtime, counties):
    reference = open_one(runtime)
    answer = press(client, _ask_reference(client), reference + "#")
    with runtime.sessions() as db:
        made = ticket(db, reference)
        nandi = organization_by_code(db, "nandi")
        updated, due = (day_text(moment, nandi, "en") for moment in (made.updated_at,
                                                                     made.due_at))
    assert answer.names == ["Say", "Say"]
    assert answer.spoken() == (f"Your complaint {spelled(reference)} is received, and waits for "
                               f"an officer. It was last updated on {updated}, and is due by "
                               f"{due}. Thank you for calling. Goodbye.")


def test_a_mistyped_reference_may_be_tried_once_more(client, runtime, counties):
    reference = open_one(runtime)
    wrong = reference[:-1] + str((int(reference[-1]) + 1) % 10)
    again = press(client, _ask_reference(client), wrong)
    assert again.names == ["Say", "Say", "GetDigits", "Say"]
    assert again.spoken().startswith("That reference number is not correct. Please check it. "
                                     "Please try again. Please enter")
    bye = press(client, again, wrong)
    assert bye.names == ["Say", "Say"] and "GetDigits" not in bye.names
    assert state_of(runtime).state == "done"


def test_a_mistyped_then_good_reference(client, runtime, counties):
    reference = open_one(runtime)
    again = press(client, _ask_reference(client), reference[::-1])
    assert press(client, again, reference).spoken().startswith(
        f"Your complaint {spelled(reference)} is")


def test_someone_elses_complaint_shows_nothing_of_it(client, runtime, counties):
    reference = open_one(runtime, msisdn=NEIGHBOUR, text="Broken borehole at Kabiyet")
    answer = press(client, _ask_reference(client), reference)
    assert answer.spoken().startswith("That complaint was not made from this phone number")
    assert reference[:3] not in answer.spoken()


def test_a_reference_no_complaint_has(client, runtime, counties):
    answer = press(client, _ask_reference(client), "1234566")  # a valid check digit
    assert answer.spoken().startswith("We could not find a complaint with that reference")


def test_a_withheld_number_sees_no_complaint_as_its_own(client, runtime, counties):
    reference = open_one(runtime)
    ask = press(client, call(client, caller=""), "2")
    assert press(client, ask, reference, caller="").spoken().startswith(
        "That complaint was not made from this phone number")


# -- 3: speak to an agent ----------------------------------------------------------------------


def test_the_agents_on_duty_are_dialled_all_at_once(client, runtime, counties):
    agent(runtime, Role.AGENT, "+254700000001", "a1@nandi.example.org")
    agent(runtime, Role.SUPERVISOR, "+254700000002", "s1@nandi.example.org")
    agent(runtime, Role.AGENT, "+254700000003", "gone@nandi.example.org", active=False)
    agent(runtime, Role.AGENT, None, "nophone@nandi.example.org")
    agent(runtime, Role.OFFICER, "+254700000004", "officer@nandi.example.org")
    reply = press(client, call(client), "3")
    assert reply.names == ["Say", "Dial", "Say", "GetDigits", "Say", "GetDigits", "Say"]
    assert reply.first("Dial").attrib == {"phoneNumbers": "+254700000001,+254700000002",
                                          "sequential": "false"}
    # Nobody picked up: AT goes on to the offer to leave a complaint.
    ask = press(client, reply, "1")
    assert ask.names[0] == "Record"


def test_with_no_agent_numbers_the_setting_is_dialled(client, runtime, counties):
    runtime.settings = runtime.settings.with_overrides(voice_agent_numbers=("+254700000009",))
    reply = press(client, call(client), "3")
    assert reply.first("Dial").get("phoneNumbers") == "+254700000009"


def test_with_a_queue_the_caller_waits_with_hold_music(client, runtime, counties):
    agent(runtime, Role.AGENT, "+254700000001", "a1@nandi.example.org")
    runtime.settings = runtime.settings.with_overrides(
        voice_queue_name="complaints", voice_hold_music_url="https://cdn.example.org/hold.mp3")
    reply = press(client, call(client), "3")
    assert reply.names == ["Say", "Enqueue"]
    assert reply.first("Enqueue").attrib == {"name": "complaints",
                                             "holdMusic": "https://cdn.example.org/hold.mp3"}
    assert state_of(runtime).state == "queued"


def test_no_agent_offers_to_leave_a_complaint(client, runtime, counties):
    reply = press(client, call(client), "3")
    assert reply.names == ["Say", "GetDigits", "Say", "GetDigits", "Say"]
    assert reply.spoken().startswith("Sorry, no agent is available right now. To leave a "
                                     "complaint instead, press 1.")
    bye = press(client, reply, "2")
    assert bye.spoken() == "Thank you for calling. Goodbye."


# -- the end of a call and the rest ----------------------------------------------------------


def test_the_final_notification_stores_duration_and_cost_once(client, runtime, counties):
    press(client, call(client), "3")
    ended = final_form(dialDestinationNumber="+254700000001", dialDurationInSeconds="60")
    for _ in range(2):
        response = client.post("/at/voice", data=ended)
        assert response.status_code == 200
        assert check_reply(response).actions == []
    stored = state_of(runtime)
    assert (stored.duration_seconds, stored.currency_code, stored.amount) == (95, "KES", "3.5000")
    assert (stored.hangup_cause, stored.dial_destination, stored.dial_duration_seconds) == (
        "NORMAL_CLEARING", "+254700000001", 60)
    assert stored.ended_at is not None and stored.caller_msisdn == CALLER


def test_a_callback_without_the_token_is_refused(client, runtime, counties):
    runtime.settings = runtime.settings.with_overrides(callback_token="s3cret-token")
    assert client.post("/at/voice?token=wrong", data=voice_form()).status_code == 403
    assert client.post("/at/voice", data=voice_form()).status_code == 403
    first = client.post("/at/voice?token=s3cret-token", data=voice_form())
    reply = check_reply(first)
    assert reply.next_url() == "http://localhost/at/voice?token=s3cret-token&turn=1"
    # The reply kept for AT's retries does not keep the secret, yet a retry gets it back.
    assert "s3cret" not in str(state_of(runtime).detail)
    again = client.post("/at/voice?token=s3cret-token", data=voice_form())
    assert again.get_data() == first.get_data()
    assert press(client, reply, "2").names[0] == "GetDigits"


def test_a_number_that_is_not_ours_gets_a_polite_goodbye(client, runtime, counties):
    reply = check_reply(client.post("/at/voice", data=voice_form(destination="+254711000000")))
    assert reply.spoken() == "Sorry, this number is not in service. Goodbye."
    assert state_of(runtime) is None
    assert client.post("/at/voice", data=final_form()).status_code == 200


def test_voice_callbacks_are_counted_for_metrics(client, runtime, counties):
    press(client, call(client), "9")
    client.post("/at/voice", data=final_form())
    runtime.settings = runtime.settings.with_overrides(callback_token="s3cret-token")
    client.post("/at/voice", data=voice_form())
    body = scrape(client)
    assert sample(body, "baraza_voice_callbacks_total", kind="step") == 2
    assert sample(body, "baraza_voice_callbacks_total", kind="final") == 1
    assert sample(body, "baraza_voice_callbacks_total", kind="refused") == 1


def test_a_callback_with_no_session_gets_a_polite_goodbye(client, counties):
    reply = check_reply(client.post("/at/voice", data={"isActive": "1"}))
    assert reply.names == ["Say"]


def test_our_number_is_found_when_its_plus_became_a_space(client, runtime, counties):
    reply = call(client, destination=" " + VOICE_NUMBER[1:])
    assert reply.spoken().startswith("Welcome to the Nandi County")


def test_a_very_long_session_id_still_makes_its_ticket(client, runtime, counties):
    session = "ATVId_" + "x" * 300
    ask = press(client, call(client, session=session), "1", session=session)
    record(client, ask, session=session)
    with runtime.sessions() as db:
        assert db.scalar(select(Ticket.source_key)).startswith("voice:ATVId_xxx")


HOSTILE = st.one_of(st.text(max_size=30), st.sampled_from(
    ["", "0", "1", "#", "*", "12#", "1" * 60, "\x00", "<Say>", "&amp;", "٣", " 1"]))
FUZZ = settings(max_examples=60, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(digits=HOSTILE, recording=HOSTILE, active=st.sampled_from(["1", "0", "", "yes"]),
       destination=st.sampled_from([VOICE_NUMBER, "", "+1", "254711082548", "<x>"]),
       turn=st.sampled_from(["", "1", "2", "-1", "abc", "9" * 30]))
def test_whatever_arrives_the_reply_is_a_valid_document(client, counties, caplog, digits,
                                                        recording, active, destination, turn):
    form = voice_form("ATVId_fuzz", destination=destination, dtmfDigits=digits,
                      recordingUrl=recording, durationInSeconds=digits, amount=recording)
    form["isActive"] = active
    check_reply(client.post(f"/at/voice?turn={turn}", data=form))
    assert "voice callback failed" not in caplog.text  # answered, not rescued


@pytest.mark.parametrize("body, problem", [
    ("<Response><GetDigits><Say>Press 1</Say></GetDigits></Response>", "fallback"),
    ("<Response><GetDigits><Say>a</Say><Say>b</Say></GetDigits><Say>x</Say></Response>",
     "exactly one"),
    ('<Response><Say loud="yes">Hi</Say></Response>', "attributes"),
    ("<Response><Speak>Hi</Speak></Response>", "not an AT action"),
    ('<Response><Dial phoneNumbers="0722000111"/></Response>', "0722000111"),
    ("<Reply><Say>Hi</Say></Reply>", "root"),
])
def test_the_reply_check_refuses_what_at_cannot_run(body, problem):
    with pytest.raises(AssertionError, match=problem):
        check_reply(XmlReply(f'<?xml version="1.0" encoding="UTF-8"?>{body}'))
