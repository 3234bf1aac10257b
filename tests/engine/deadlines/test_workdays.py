"""Working-day deadlines on China's official calendar (chinesecalendar==1.11.0) and overrides.

The 2026 data of chinesecalendar 1.11.0 that these tests rely on:
  holidays   元旦 01-01..01-03; 春节 02-15..02-23; 清明 04-04..04-06; 劳动节 05-01..05-05;
             端午 06-19..06-21; 中秋 09-25..09-27; 国庆节 10-01..10-07
  调休 (make-up working days): Sun 01-04 (元旦), Sat 02-14 and Sat 02-28 (春节), Sat 05-09 (劳动节),
             Sun 09-20 and Sat 10-10 (国庆节)
The package knows 2004..2026: 2027 is the first year without an official calendar.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from engine.deadlines.workdays import BEIJING, Deadline, WorkCalendar, parse_working_days

UTC = timezone.utc


def at_9_beijing(d: str) -> datetime:
    """09:00 Beijing on day `d`: when a letter is typically registered."""
    return datetime.combine(date.fromisoformat(d), datetime.min.time().replace(hour=9), BEIJING)


def end_of(d: str) -> datetime:
    """24:00 Beijing at the end of day `d`, in UTC: the deadline convention."""
    return datetime.combine(date.fromisoformat(d) + timedelta(days=1), datetime.min.time(), BEIJING).astimezone(UTC)


def test_15_working_days_from_a_receipt_on_monday_28_september_2026_skip_national_day():
    # Day 0 is Mon 09-28. Counted: 09-29 (1), 09-30 (2); 10-01..10-07 国庆节; 10-08 (3), 10-09 (4),
    # Sat 10-10 调休 (5), 10-12..10-16 (6-10), 10-19..10-23 (11-15). So due at the end of Fri 10-23.
    d = WorkCalendar().add_working_days(at_9_beijing("2026-09-28"), 15)
    assert d == Deadline(end_of("2026-10-23"), provisional=False)
    assert d.due == datetime(2026, 10, 23, 16, 0, tzinfo=UTC)       # 24:00 Beijing is 16:00 UTC
    assert d.due.tzinfo == UTC
    assert d.to_dict() == {"due": "2026-10-23T16:00:00+00:00", "provisional": False}


def test_5_working_days_from_friday_13_february_2026_skip_spring_festival():
    # Day 0 is Fri 02-13. Sat 02-14 is a 调休 working day (1); 02-15..02-23 春节;
    # 02-24 (2), 02-25 (3), 02-26 (4), 02-27 (5).
    d = WorkCalendar().add_working_days(at_9_beijing("2026-02-13"), 5)
    assert d == Deadline(end_of("2026-02-27"), provisional=False)


def test_a_make_up_saturday_or_sunday_counts_as_a_working_day():
    cal = WorkCalendar()
    # Sat 2026-02-14 (春节 调休): one working day after Fri 02-13 is that Saturday, not Tue 02-24.
    assert cal.add_working_days(at_9_beijing("2026-02-13"), 1).due == end_of("2026-02-14")
    # Sat 2026-02-28 (春节 调休) is the 6th working day after 02-13.
    assert cal.add_working_days(at_9_beijing("2026-02-13"), 6).due == end_of("2026-02-28")
    # Sun 2026-09-20 (国庆节 调休): one working day after Sat 09-19 is that Sunday.
    assert cal.add_working_days(at_9_beijing("2026-09-19"), 1).due == end_of("2026-09-20")
    assert cal.is_working_day(date(2026, 10, 10)) and not cal.is_working_day(date(2026, 10, 11))


def test_a_closure_override_on_a_working_day_pushes_the_deadline_by_one_working_day():
    # Wed 2026-10-14 closed (e.g. a hospital move): the 15th working day after 09-28 is Mon 10-26.
    cal = WorkCalendar({date(2026, 10, 14): False})
    assert cal.add_working_days(at_9_beijing("2026-09-28"), 15) == Deadline(end_of("2026-10-26"), False)
    assert not cal.is_working_day(date(2026, 10, 14))


def test_an_extra_working_saturday_override_pulls_the_deadline_in():
    # Sat 2026-10-17 declared a working day: the 15th working day after 09-28 becomes Thu 10-22.
    cal = WorkCalendar({date(2026, 10, 17): True})
    assert cal.add_working_days(at_9_beijing("2026-09-28"), 15) == Deadline(end_of("2026-10-22"), False)


def test_an_override_wins_over_an_official_holiday_and_a_make_up_day():
    cal = WorkCalendar({date(2026, 10, 1): True, date(2026, 10, 10): False})
    assert cal.is_working_day(date(2026, 10, 1)) and not cal.is_working_day(date(2026, 10, 10))


def test_2027_is_the_first_year_without_an_official_calendar():
    cal = WorkCalendar({date(2027, 1, 4): True})
    assert cal.is_known(date(2026, 12, 31))
    assert not cal.is_known(date(2027, 1, 1))
    assert not cal.is_known(date(2027, 1, 4))            # an override does not make a year known
    assert cal.is_known(date(2004, 1, 1)) and not cal.is_known(date(2003, 12, 31))


def test_a_deadline_reaching_into_2027_is_provisional_and_counts_weekends_only():
    # Day 0 Thu 2026-12-31. 2027 is unknown, so Fri 01-01 (surely 元旦 in reality) counts (1),
    # then Mon 01-04 .. Thu 01-07 (2-5).
    d = WorkCalendar().add_working_days(at_9_beijing("2026-12-31"), 5)
    assert d == Deadline(end_of("2027-01-07"), provisional=True)


def test_overrides_still_apply_in_a_year_without_an_official_calendar():
    d = WorkCalendar({date(2027, 1, 1): False}).add_working_days(at_9_beijing("2026-12-31"), 5)
    assert d == Deadline(end_of("2027-01-08"), provisional=True)


def test_a_deadline_on_31_december_is_not_provisional_even_though_it_expires_at_00_00_on_1_january():
    d = WorkCalendar().add_working_days(at_9_beijing("2026-12-30"), 1)
    assert d == Deadline(end_of("2026-12-31"), provisional=False)
    assert d.due.astimezone(BEIJING) == datetime(2027, 1, 1, tzinfo=BEIJING)


def test_a_monthly_report_due_on_sunday_12_april_2026_moves_to_monday_13th():
    cal = WorkCalendar()
    after = at_9_beijing("2026-04-01")
    assert cal.monthly(12, after) == Deadline(end_of("2026-04-13"), False)
    assert cal.monthly(12, after, shift="none") == Deadline(end_of("2026-04-12"), False)
    assert cal.monthly(12, after, shift="previous_working_day") == Deadline(end_of("2026-04-10"), False)


def test_a_monthly_deadline_on_a_holiday_moves_past_the_holiday():
    # 2026-10-01 is 国庆节; the holiday runs to 10-07, so the 1st moves to Thu 10-08.
    cal = WorkCalendar()
    assert cal.monthly(1, at_9_beijing("2026-09-15")).due == end_of("2026-10-08")
    assert cal.monthly(1, at_9_beijing("2026-09-15"), shift="none").due == end_of("2026-10-01")


def test_a_monthly_deadline_is_the_next_occurrence_strictly_after_the_day_it_is_set():
    cal = WorkCalendar()
    assert cal.monthly(12, at_9_beijing("2026-05-12")).due == end_of("2026-06-12")     # not the same day
    assert cal.monthly(12, at_9_beijing("2026-05-11")).due == end_of("2026-05-12")
    # Asked on Sat 04-11 for "the working day before the 12th": Fri 04-10 is past, so May's.
    assert cal.monthly(12, at_9_beijing("2026-04-11"), shift="previous_working_day").due == end_of("2026-05-12")


def test_a_monthly_day_31_is_clamped_to_the_end_of_a_short_month():
    # 2026-02-28 is a Saturday, but a 调休 working day, so it stays.
    assert WorkCalendar().monthly(31, at_9_beijing("2026-02-01")).due == end_of("2026-02-28")


def test_a_monthly_deadline_in_an_unknown_year_is_provisional():
    cal = WorkCalendar()
    assert cal.monthly(12, at_9_beijing("2026-12-20")) == Deadline(end_of("2027-01-12"), True)
    # With no shift the calendar is not consulted, so nothing can change later.
    assert cal.monthly(12, at_9_beijing("2026-12-20"), shift="none") == Deadline(end_of("2027-01-12"), False)


def test_monthly_rejects_a_bad_day_or_shift():
    with pytest.raises(ValueError, match="day_of_month"):
        WorkCalendar().monthly(32, at_9_beijing("2026-04-01"))
    with pytest.raises(ValueError, match="shift"):
        WorkCalendar().monthly(12, at_9_beijing("2026-04-01"), shift="nearest")


def test_next_working_day_is_the_day_itself_when_it_is_one():
    cal = WorkCalendar()
    assert cal.next_working_day(date(2026, 9, 30)) == date(2026, 9, 30)
    assert cal.next_working_day(date(2026, 10, 1)) == date(2026, 10, 8)
    assert cal.next_working_day(date(2026, 10, 11)) == date(2026, 10, 12)


def test_parse_working_days_recognises_the_bpmn_notation_only():
    assert parse_working_days("working_days(15)") == 15
    assert parse_working_days(" working_days( 3 ) ") == 3
    assert parse_working_days('"P2D"') is None
    assert parse_working_days("working_days(15) + 1") is None
    assert parse_working_days("working_days(n)") is None
    assert parse_working_days("") is None


def test_working_days_0_is_not_recognised_and_left_to_the_evaluator_which_rejects_it():
    # Documented choice: None, so the expression reaches the sandbox's working_days helper,
    # i.e. add_working_days, which raises a clear ValueError (next test).
    assert parse_working_days("working_days(0)") is None
    assert parse_working_days("working_days(-2)") is None


@pytest.mark.parametrize("n", [0, -1])
def test_zero_or_negative_working_days_is_an_error(n):
    with pytest.raises(ValueError, match="at least 1"):
        WorkCalendar().add_working_days(at_9_beijing("2026-09-28"), n)


def test_a_naive_start_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="timezone-aware"):
        WorkCalendar().add_working_days(datetime(2026, 9, 28, 9), 1)


def test_counting_starts_from_the_beijing_day_of_start_not_the_utc_day():
    # 2026-09-30T17:00Z is 01:00 on 10-01 in Beijing, so day 0 is 10-01 (still Sep 30 in UTC).
    start = datetime(2026, 9, 30, 17, 0, tzinfo=UTC)
    # Both days are followed by the holiday, so plainly the answer is 10-08 either way ...
    assert WorkCalendar().add_working_days(start, 1).due == end_of("2026-10-08")
    # ... but with 10-01 open by override, day 0 = 09-30 would give 10-01: day 0 is 10-01 here.
    assert WorkCalendar({date(2026, 10, 1): True}).add_working_days(start, 1).due == end_of("2026-10-08")
    # And 2026-09-29T17:00Z is 01:00 on 09-30 Beijing: day 0 is 09-30, so not 09-30 but 10-08.
    assert WorkCalendar().add_working_days(datetime(2026, 9, 29, 17, 0, tzinfo=UTC), 1).due == end_of("2026-10-08")
    # One second earlier is 23:59:59 on 09-29 Beijing: day 0 is 09-29, so 09-30 counts.
    assert WorkCalendar().add_working_days(datetime(2026, 9, 29, 15, 59, 59, tzinfo=UTC), 1).due == end_of("2026-09-30")


def test_describe_says_what_a_day_is():
    cal = WorkCalendar({date(2026, 10, 14): False, date(2026, 10, 17): True})
    assert cal.describe(date(2026, 10, 1)) == "国庆节 (holiday)"
    assert cal.describe(date(2026, 2, 16)) == "春节 (holiday)"
    assert cal.describe(date(2026, 10, 10)) == "调休 working Saturday (国庆节)"
    assert cal.describe(date(2026, 9, 20)) == "调休 working Sunday (国庆节)"
    assert cal.describe(date(2026, 10, 11)) == "weekend"
    assert cal.describe(date(2026, 10, 12)) == "working day"
    assert cal.describe(date(2026, 10, 14)) == "override: closure"
    assert cal.describe(date(2026, 10, 17)) == "override: extra working day"
    assert "provisional" in cal.describe(date(2027, 1, 1))
