"""The Pabulib `.pb` reader and writer: every shared file, a round trip, and malformed input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest

from app.pb.election import Ballot
from app.pb.pabulib import (
    PabulibError,
    PabulibFile,
    PabulibProject,
    PabulibVote,
    format_number,
    format_pabulib,
    parse_number,
    parse_pabulib,
    to_election,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pabulib"
FILES = sorted(DATA.glob("*.pb")) if DATA.is_dir() else []
needs_data = pytest.mark.skipif(not FILES, reason=f"reference data absent: {DATA}")

SMALL = """META
key;value
budget;100
vote_type;approval
PROJECTS
project_id;cost;name;selected
p1;60;"Water; a borehole";1
p2;50.0;"The ""big"" hall";0
p3;12.5;;0
VOTES
voter_id;vote;age
v1;p1,p2;34
v2;p3;
"""


def read(path: Path) -> PabulibFile:
    return parse_pabulib(path.read_text(encoding="utf-8"))


@needs_data
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_shared_file_parses_as_its_meta_says(path):
    pb = read(path)
    assert len(pb.projects) == int(pb.meta["num_projects"])
    assert len(pb.votes) == int(pb.meta["num_votes"])
    assert pb.budget > 0
    known = {p.project_id for p in pb.projects}
    assert all(set(v.vote) <= known for v in pb.votes)


@needs_data
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_round_trip_gives_equal_values(path):
    pb = read(path)
    written = format_pabulib(pb)
    again = parse_pabulib(written)
    assert again == pb
    assert format_pabulib(again) == written  # and the text settles at once


@needs_data
def test_points_quotes_and_extra_columns_are_kept():
    krakow = read(DATA / "Poland_Krakow_2022_Zwierzyniec.pb")
    by_id = {p.project_id: p for p in krakow.projects}
    assert by_id["21"].name == '800 darmowych biletów dla seniorów do Kina "Paradox"'
    assert by_id["21"].selected is True and by_id["17"].selected is False
    first = krakow.votes[0]
    assert (first.voter_id, first.vote, first.points) == ("E1175253", ("26", "4", "15"), (3, 2, 1))
    assert first.fields == {"voting_method": "internet"}
    warszawa = read(DATA / "Poland_Warszawa_2018_Stare_Miasto.pb")
    assert dict(warszawa.votes[0].fields) == {"age": "30", "sex": "M", "voting_method": "internet"}
    assert warszawa.meta["rule"] == "greedy-threshold"


def test_small_file_values():
    pb = parse_pabulib(SMALL)
    assert pb.meta == {"budget": "100", "vote_type": "approval"}
    assert [(p.project_id, p.cost, p.name) for p in pb.projects] == [
        ("p1", 60, "Water; a borehole"), ("p2", 50, 'The "big" hall'), ("p3", Fraction(25, 2), "")]
    assert type(pb.projects[1].cost) is int  # "50.0" is the integer 50
    assert pb.votes[1] == PabulibVote("v2", ("p3",), None, {"age": ""})
    assert parse_pabulib(format_pabulib(pb)) == pb


def test_bom_crlf_and_blank_lines_read_the_same():
    variant = "\ufeff" + SMALL.replace("\n", "\r\n").replace("PROJECTS", "\r\n\r\nPROJECTS")
    assert parse_pabulib(variant) == parse_pabulib(SMALL)


def test_empty_vote_and_written_quotes():
    pb = parse_pabulib(SMALL.replace("v2;p3;", "v2;;"))
    assert pb.votes[1].vote == ()
    written = format_pabulib(pb)
    assert 'p1;60;"Water; a borehole";1' in written
    assert 'p2;50;"The ""big"" hall";0' in written


@pytest.mark.parametrize(("text", "value"), [
    ("50000", 50000), ("50000.0", 50000), ("1234,5", Fraction(2469, 2)), (" 7 ", 7),
    ("0.125", Fraction(1, 8)),
])
def test_parse_number(text, value):
    assert parse_number(text) == value
    assert parse_number(format_number(value)) == value


@pytest.mark.parametrize("text", ["", "abc", "1e3", "1/2", "1.2.3", "nan"])
def test_parse_number_rejects(text):
    with pytest.raises(ValueError):
        parse_number(text)


def test_format_number_needs_a_finite_decimal():
    assert format_number(Fraction(-5, 4)) == "-1.25"
    with pytest.raises(ValueError):
        format_number(Fraction(1, 3))


def replace_line(number: int, new: str) -> str:
    lines = SMALL.splitlines()
    lines[number - 1] = new
    return "\n".join(lines) + "\n"


MALFORMED = [
    ("before", "hello;world\n" + SMALL, 1, "before any data"),
    ("meta row", replace_line(3, "budget;100;extra"), 3, "key;value"),
    ("meta twice", replace_line(4, "budget;200"), 4, "appears twice"),
    ("budget", replace_line(3, "budget;lots"), 3, "budget 'lots' is not a number"),
    ("no budget", replace_line(3, "currency;KES"), 2, "no budget"),
    ("header", replace_line(6, "project_id;price;name;selected"), 6, "lacks cost"),
    ("repeat column", replace_line(6, "project_id;cost;name;name"), 6, "repeats a column"),
    ("fields", replace_line(7, "p1;60;Water"), 7, "has 3 fields"),
    ("cost", replace_line(8, "p2;fifty;hall;0"), 8, "cost 'fifty' is not a number"),
    ("negative", replace_line(8, "p2;-5;hall;0"), 8, "negative"),
    ("project twice", replace_line(8, "p1;5;hall;0"), 8, "project 'p1' appears twice"),
    ("comma id", replace_line(8, '"p,2";5;hall;0'), 8, "has a comma"),
    ("no voter", replace_line(13, ";p3;"), 13, "voter_id is empty"),
    ("unknown", replace_line(12, "v1;p1,p9;34"), 12, "unknown project 'p9'"),
    ("vote twice", replace_line(12, "v1;p1,p1;34"), 12, "names a project twice"),
    ("voter twice", replace_line(13, "v1;p3;"), 13, "voter 'v1' appears twice"),
    ("section twice", SMALL + "META\nkey;value\n", 14, "section META appears twice"),
    ("no header", replace_line(6, "VOTES"), 6, "PROJECTS has no header row"),
    ("quote", replace_line(8, 'p2;50;"hall;0'), 8, "unreadable row"),
    ("no votes", SMALL.split("VOTES")[0], 9, "no VOTES section"),
]


@pytest.mark.parametrize(("text", "line", "message"), [m[1:] for m in MALFORMED],
                         ids=[m[0] for m in MALFORMED])
def test_malformed_input_names_the_line(text, line, message):
    with pytest.raises(PabulibError) as raised:
        parse_pabulib(text)
    assert raised.value.line == line
    assert str(raised.value).startswith(f"line {line}: ")
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_points_must_match_the_vote():
    text = SMALL.replace("voter_id;vote;age", "voter_id;vote;points").replace(
        "v1;p1,p2;34", "v1;p1,p2;3").replace("v2;p3;", "v2;p3;1")
    with pytest.raises(PabulibError, match="line 12: 1 points for 2 projects"):
        parse_pabulib(text)


def test_to_election_by_vote_type():
    approval = to_election(parse_pabulib(SMALL))
    assert approval.budget == 100
    assert approval.ballots == (Ballot(("p1", "p2")), Ballot(("p3",)))
    cumulative = parse_pabulib(SMALL.replace("vote_type;approval", "vote_type;cumulative"))
    with pytest.raises(ValueError, match="points column"):
        to_election(cumulative)
    with pytest.raises(ValueError, match="vote_type 'weird'"):
        to_election(parse_pabulib(SMALL.replace("vote_type;approval", "vote_type;weird")))


def test_writer_refuses_what_it_could_not_read_back():
    pb = parse_pabulib(SMALL)
    stray = PabulibProject("p4", 1, {"colour": "red"})
    with pytest.raises(ValueError, match="outside the header"):
        format_pabulib(PabulibFile(pb.meta, (*pb.projects, stray), pb.votes,
                                   pb.project_columns, pb.vote_columns))
    section_like = PabulibVote("VOTES", (), None, {"age": ""})  # would read as a section
    with pytest.raises(ValueError, match="followed by nothing"):
        format_pabulib(PabulibFile(pb.meta, pb.projects, (section_like,), pb.project_columns,
                                   pb.vote_columns))


def test_values_are_frozen():
    pb = parse_pabulib(SMALL)
    with pytest.raises(TypeError):
        pb.meta["budget"] = "1"  # type: ignore[index]
    with pytest.raises(AttributeError):
        pb.projects[0].cost = 1  # type: ignore[misc]
