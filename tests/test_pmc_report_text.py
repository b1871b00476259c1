"""The PMC report parser: what members type on keypads, and the one problem it names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.db.models.projects import ReportStatus
from app.pmc.report_text import Problem, ReportText, ReportTextError, parse_report


@pytest.mark.parametrize(("rest", "expected"), [
    ("MK-014 45 ONTRACK", ReportText("MK-014", 45, ReportStatus.ONTRACK, "")),
    ("mk-014   45%   ontrack  culvert   done", ReportText("mk-014", 45, ReportStatus.ONTRACK,
                                                         "culvert done")),
    ("MK-014 45 % on track", ReportText("MK-014", 45, ReportStatus.ONTRACK, "")),
    ("MK-014 60 At-Risk cement late", ReportText("MK-014", 60, ReportStatus.ATRISK,
                                                 "cement late")),
    ("MK-014 OFF TRACK 30%", ReportText("MK-014", 30, ReportStatus.OFFTRACK, "")),
    ("NDI/2024/07 0 STALLED no workers since May",
     ReportText("NDI/2024/07", 0, ReportStatus.STALLED, "no workers since May")),
    ("MK-014 100 complete", ReportText("MK-014", 100, ReportStatus.COMPLETE, "")),
    # Kiswahili
    ("MK-014 45 SAWA", ReportText("MK-014", 45, ReportStatus.ONTRACK, "")),
    ("MK-014 50 hatarini saruji imechelewa",
     ReportText("MK-014", 50, ReportStatus.ATRISK, "saruji imechelewa")),
    ("MK-014 20 nyuma", ReportText("MK-014", 20, ReportStatus.OFFTRACK, "")),
    ("MK-014 10 IMEKWAMA", ReportText("MK-014", 10, ReportStatus.STALLED, "")),
    ("MK-014 100% imekamilika", ReportText("MK-014", 100, ReportStatus.COMPLETE, "")),
])
def test_reports_members_type_are_read(rest, expected):
    assert parse_report(rest) == expected


@pytest.mark.parametrize(("rest", "expected"), [
    ("", ReportTextError(Problem.NO_CODE)),
    ("   ", ReportTextError(Problem.NO_CODE)),
    ("MK-014", ReportTextError(Problem.NO_PROGRESS, "MK-014")),
    ("MK-014 ONTRACK", ReportTextError(Problem.NO_PROGRESS, "MK-014")),
    ("MK-014 ONTRACK nearly", ReportTextError(Problem.BAD_PROGRESS, "MK-014", "nearly")),
    ("MK-014 145 ONTRACK", ReportTextError(Problem.BAD_PROGRESS, "MK-014", "145")),
    ("MK-014 45.5% ONTRACK", ReportTextError(Problem.BAD_PROGRESS, "MK-014", "45.5%")),
    ("MK-014 half ONTRACK", ReportTextError(Problem.BAD_PROGRESS, "MK-014", "half")),
    ("MK-014 45", ReportTextError(Problem.NO_STATUS, "MK-014")),
    ("MK-014 45% fine", ReportTextError(Problem.BAD_STATUS, "MK-014", "fine")),
])
def test_each_problem_is_named_with_what_was_typed(rest, expected):
    assert parse_report(rest) == expected


@given(st.text(max_size=300))
def test_any_text_gives_a_report_or_a_problem(rest):
    result = parse_report(rest)
    assert isinstance(result, ReportText | ReportTextError)
    if isinstance(result, ReportText):
        assert 0 <= result.progress <= 100 and len(result.comment) <= 480
