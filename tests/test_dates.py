"""Dates from source metadata, from a passage's opening, and from a user's --since/--until."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

import rag.dates
from rag.dates import date_key, leading_date, normalize_date, parse_day, parse_range


@pytest.fixture
def today_is(monkeypatch):
    """Pin "today" so the one-year-ahead limit can be tested at its exact edge."""
    def pin(day: date) -> None:
        monkeypatch.setattr(rag.dates, "_today", lambda: day)
    return pin


def one_sentence(msg: str) -> bool:
    """One sentence: ends with a full stop and no sentence ends before it."""
    return msg.endswith(".") and "\n" not in msg and not re.search(r"[.!?]\s+[A-Z]", msg)


# --- normalize_date ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, day", [
    # ISO 8601
    ("2024-03-05", "2024-03-05"),
    ("  2024-03-05\n", "2024-03-05"),
    ("2024-03-05T10:00:00Z", "2024-03-05"),
    ("2024-03-05T10:00:00+02:00", "2024-03-05"),
    ("2024-03-05T10:00:00.123456+05:30", "2024-03-05"),
    ("2024-03-05 10:00:00", "2024-03-05"),
    ("2024-03-05 10:00:00 +0000 UTC", "2024-03-05"),
    ("20240305", "2024-03-05"),
    ("20240305T100000Z", "2024-03-05"),
    # RFC 822 / 2822 as RSS writes it
    ("Tue, 05 Mar 2024 10:00:00 GMT", "2024-03-05"),
    ("5 Mar 2024 10:00 +0000", "2024-03-05"),
    ("Thu, 5 Sep 2024 10:00:00 -0400", "2024-09-05"),
    ("Wed, 20 Nov 2024 08:15:00 EST", "2024-11-20"),
    # PDF
    ("D:20240305120000+01'00'", "2024-03-05"),
    ("D:20240305", "2024-03-05"),
    ("D:20240305120000Z", "2024-03-05"),
    ("D:20240305120000Z00'00'", "2024-03-05"),
    ("D:20240305120000-05'00", "2024-03-05"),
    # written dates
    ("March 5, 2024", "2024-03-05"),
    ("Mar 5, 2024", "2024-03-05"),
    ("Mar. 5, 2024", "2024-03-05"),
    ("MARCH 5, 2024", "2024-03-05"),
    ("March 5 2024", "2024-03-05"),
    ("March 5th, 2024", "2024-03-05"),
    ("5 March 2024", "2024-03-05"),
    ("5th of March 2024", "2024-03-05"),
    ("05-Mar-2024", "2024-03-05"),
    ("Sept. 5, 2024", "2024-09-05"),
    ("Sep 5, 2024", "2024-09-05"),
    ("September 5, 2024", "2024-09-05"),
    ("2024/03/05", "2024-03-05"),
    ("2024/3/5", "2024-03-05"),
    ("2024.03.05", "2024-03-05"),
    ("Tuesday, March 5, 2024", "2024-03-05"),
    ("March 5, 2024 at 3:00 p.m. EST", "2024-03-05"),
    ("Mar 5, 2024, 10:31 AM ET", "2024-03-05"),
    ("Dec 31, 1999", "1999-12-31"),
    ("January 1, 2000", "2000-01-01"),
    ("Jun 30, 2023", "2023-06-30"),
    ("Jul 1, 2023", "2023-07-01"),
])
def test_normalize_date_reads_every_written_form(value, day):
    assert normalize_date(value) == day


@pytest.mark.parametrize("value, day", [
    # each of these is a different day in UTC: the source's own day must be kept
    ("2024-03-05T23:30:00-05:00", "2024-03-05"),
    ("2024-03-05T00:30:00+02:00", "2024-03-05"),
    ("2024-03-05T00:15:00+14:00", "2024-03-05"),
    ("Tue, 05 Mar 2024 23:00:00 -0800", "2024-03-05"),
    ("Tue, 05 Mar 2024 01:00:00 +0900", "2024-03-05"),
    ("D:20240305003000+05'00'", "2024-03-05"),
    ("D:20240305233000-07'00'", "2024-03-05"),
    (datetime(2024, 3, 5, 23, 30, tzinfo=timezone(timedelta(hours=-8))), "2024-03-05"),
    (datetime(2024, 3, 5, 0, 30, tzinfo=timezone(timedelta(hours=9))), "2024-03-05"),
])
def test_normalize_date_keeps_the_sources_own_day_not_utc(value, day):
    assert normalize_date(value) == day


@pytest.mark.parametrize("value, day", [
    (date(2024, 3, 5), "2024-03-05"),
    (datetime(2024, 3, 5, 10, 0), "2024-03-05"),
    (datetime(2024, 3, 5, tzinfo=UTC), "2024-03-05"),
    (date(1800, 1, 1), "1800-01-01"),
])
def test_normalize_date_takes_date_and_datetime_objects(value, day):
    assert normalize_date(value) == day


@pytest.mark.parametrize("value, day", [
    (time.struct_time((2024, 3, 5, 10, 0, 0, 1, 65, 0)), "2024-03-05"),  # as feedparser's *_parsed
    (time.gmtime(0), "1970-01-01"),
    (time.strptime("2024-02-29", "%Y-%m-%d"), "2024-02-29"),
    (time.struct_time((2023, 2, 29, 0, 0, 0, 0, 60, 0)), ""),  # struct_time does not check the day
    (time.struct_time((1700, 1, 1, 0, 0, 0, 0, 1, 0)), ""),
])
def test_normalize_date_takes_struct_time(value, day):
    assert normalize_date(value) == day


@pytest.mark.parametrize("value", [
    None, "", "   ", "n/a", "unknown", "hello", "Yesterday", "3 days ago", "today",
    0, 20240305, 12.5, True, b"2024-03-05", ["2024-03-05"], (2024, 3, 5),
    "2024",  # a year is not a day
    "2024-03", "202403", "March 2024", "Mar. 2024", "D:2024", "D:202403",  # a month is not a day
    "03/05/2024", "5/3/2024", "05.03.2024",  # March 5 or May 3? not guessed
    "2024-13-01", "2024-00-10", "2024-03-32", "2024-03-00", "20241301",
    "Feb 30, 2024", "31 April 2024", "Smarch 5, 2024",
    "2024-03-05 draft", "2024-03-05Tx", "March 5, 20245", "March 52, 2024",
])
def test_normalize_date_refuses_what_is_not_a_day(value):
    assert normalize_date(value) == ""


@pytest.mark.parametrize("value, day", [
    ("2024-02-29", "2024-02-29"),
    ("Feb 29, 2024", "2024-02-29"),
    ("29 February 2024", "2024-02-29"),
    ("D:20240229", "2024-02-29"),
    (date(2024, 2, 29), "2024-02-29"),
    ("2000-02-29", "2000-02-29"),  # divisible by 400: a leap year
    ("2023-02-29", ""),
    ("Feb 29, 2023", ""),
    ("29 February 2023", ""),
    ("20230229", ""),
    ("1900-02-29", ""),  # divisible by 100 but not 400: not a leap year
    ("2023-02-28", "2023-02-28"),
])
def test_normalize_date_knows_leap_years(value, day):
    assert normalize_date(value) == day


@pytest.mark.parametrize("value, day", [
    ("1800-01-01", "1800-01-01"),
    ("1799-12-31", ""),
    ("Dec 31, 1799", ""),
    (date(1799, 12, 31), ""),
    ("0001-01-01", ""),
])
def test_normalize_date_refuses_years_before_1800(value, day):
    assert normalize_date(value) == day


@pytest.mark.parametrize("today, value, day", [
    (date(2025, 6, 15), "2026-06-15", "2026-06-15"),  # exactly one year ahead: still plausible
    (date(2025, 6, 15), "2026-06-16", ""),  # one day more: not
    (date(2025, 6, 15), "June 16, 2026", ""),
    (date(2025, 6, 15), datetime(2026, 6, 16, 1, 0), ""),
    (date(2025, 6, 15), date(2026, 6, 16), ""),
    (date(2025, 6, 15), time.struct_time((2026, 6, 16, 0, 0, 0, 1, 167, 0)), ""),
    (date(2025, 6, 15), "2025-12-31", "2025-12-31"),  # later this year is fine
    (date(2025, 6, 15), "2027-01-01", ""),
    (date(2024, 2, 29), "2025-02-28", "2025-02-28"),  # a year after a leap day
    (date(2024, 2, 29), "2025-03-01", ""),
])
def test_normalize_date_refuses_days_more_than_a_year_ahead(today_is, today, value, day):
    today_is(today)
    assert normalize_date(value) == day


def test_normalize_date_uses_the_real_today():
    today = date.today()
    assert normalize_date(today.isoformat()) == today.isoformat()
    assert normalize_date(f"{today.year + 2}-01-01") == ""
    assert normalize_date(date(today.year + 2, 1, 1)) == ""


# --- leading_date -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, day", [
    ("Jul 9, 2022 ... The summit ...", "2022-07-09"),
    ("Jul 9, 2022 — The summit", "2022-07-09"),
    ("July 9, 2022: The summit", "2022-07-09"),
    ("9 July 2022 - The summit", "2022-07-09"),
    ("2022-07-09 The summit", "2022-07-09"),
    ("Mar. 3, 2025 · Markets fell", "2025-03-03"),
    ("Updated Jan 5, 2024, 10:31 AM ET Officials said", "2024-01-05"),
    ("Published: 12 February 2025 The ministry", "2025-02-12"),
    ("Sept. 14, 2023 The court", "2023-09-14"),
    ("Monday, March 3, 2025 The vote", "2025-03-03"),
    ("Jul 9, 2022", "2022-07-09"),  # the whole text
    ("July 9th, 2022 - The summit", "2022-07-09"),
    ("July 9 2022 The summit", "2022-07-09"),
    ("JULY 9, 2022 — The summit", "2022-07-09"),
    ("2022/07/09 The summit", "2022-07-09"),
    ("2022-07-09T10:00:00Z The summit", "2022-07-09"),
    ("2022-07-09, The summit", "2022-07-09"),
    ("Posted on July 9, 2022 by staff", "2022-07-09"),
    ("Last updated: Wednesday, September 14, 2023 The court", "2023-09-14"),
    ("Date: 12 Feb 2025 Minutes", "2025-02-12"),
    ("Mon, 03 Mar 2025 10:00:00 GMT headline", "2025-03-03"),
    ("WASHINGTON, July 9, 2022 — The summit", "2022-07-09"),
    ("RIO DE JANEIRO, 9 July 2022 - The summit", "2022-07-09"),
    ("(Jul 9, 2022) The summit", "2022-07-09"),
    ("  \n  Jul 9, 2022 — leading whitespace is not counted", "2022-07-09"),
    ("Feb 29, 2024 — leap day", "2024-02-29"),
    ("July 9, 2022\nThe summit", "2022-07-09"),
])
def test_leading_date_reads_the_date_a_passage_opens_with(text, day):
    assert leading_date(text) == day


@pytest.mark.parametrize("text", [
    "The talks on July 9, 2022 ended without a deal.",  # a date later in the sentence
    "Leaders met. Jul 9, 2022 was the day",
    "On July 9, 2022, leaders met",  # a narrative date, not a dateline
    "2022 was a year of change",  # a year alone
    "2022-07 figures",
    "May I ask a question?",  # a month alone
    "May 5 people came",  # a month and a number, no year
    "March 2025 figures show growth",  # no day
    "Published March 2025: figures",
    "July 9 — the summit opened",  # no year
    "3 days ago — The summit",  # relative dates
    "Yesterday, the summit opened",
    "2 hours ago",
    "Today the summit opened",
    "07/09/2022 The summit",  # July 9 or September 7? not guessed
    "Feb 30, 2024 — no such day",
    "Feb 29, 2023 — no such day",
    "July 9, 20221 is not a year",
    "July 99, 2022",
    "Jul 9, 1750 — too early",
    "Sunshine, July 9, 2022",  # not a weekday
    "",
    "   ",
])
def test_leading_date_does_not_fire_on_other_openings(text):
    assert leading_date(text) == ""


def test_leading_date_looks_only_at_the_first_40_characters():
    near = "SANFRANCISCO, July 9, 2022 — The summit"  # date starts at 14
    far = "ABCDEFGHIJKLMNOPQRSTU VWXYZABCDEFGHIJKLMN, July 9, 2022 — The summit"  # starts at 43
    assert leading_date(near) == "2022-07-09"
    assert far.index("July") > 40
    assert leading_date(far) == ""


def test_leading_date_refuses_a_day_more_than_a_year_ahead(today_is):
    today_is(date(2025, 6, 15))
    assert leading_date("June 15, 2026 — The summit") == "2026-06-15"
    assert leading_date("June 16, 2026 — The summit") == ""


@pytest.mark.parametrize("text", [None, 20220709, b"Jul 9, 2022 text"])
def test_leading_date_of_a_non_string_is_empty(text):
    assert leading_date(text) == ""


# --- parse_day --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, day", [
    ("2025-03-01", "2025-03-01"),
    (" 2025-03-01 ", "2025-03-01"),
    ("2025-03", "2025-03-01"),  # a month: its first day
    ("2025-3", "2025-03-01"),
    ("2025/03", "2025-03-01"),
    ("March 2025", "2025-03-01"),
    ("Mar 2025", "2025-03-01"),
    ("2025", "2025-01-01"),  # a year: January 1
    ("Mar 1, 2025", "2025-03-01"),
    ("March 1, 2025", "2025-03-01"),
    ("1 March 2025", "2025-03-01"),
    ("Sept. 5, 2024", "2024-09-05"),
    ("2025/03/01", "2025-03-01"),
    ("20250301", "2025-03-01"),
    ("2025-03-01T10:00:00+02:00", "2025-03-01"),
    ("2024-02-29", "2024-02-29"),
    ("2099-12-31", "2099-12-31"),  # a user's range bound may lie in the future
])
def test_parse_day_reads_what_users_type(value, day):
    assert parse_day(value) == day


@pytest.mark.parametrize("value", [
    "", "   ", "yesterday", "last week", "2025-13-01", "2025-13", "2025-00", "2025-00-10", "2025-02-30",
    "2023-02-29", "1900-02-29", "0000", "0000-01-01", "03/01/2025", "25-03-01", "202", "2025-03-01x",
    "Smarch 2025", None, 20250301,
])
def test_parse_day_refuses_what_is_not_a_date_in_one_sentence(value):
    with pytest.raises(ValueError) as err:
        parse_day(value)
    msg = str(err.value)
    assert msg == f"{value!r} is not a date; use YYYY-MM-DD."
    assert one_sentence(msg)


# --- parse_range ------------------------------------------------------------------------------

@pytest.mark.parametrize("since, until, expected", [
    (None, None, ("", "")),
    ("", "", ("", "")),
    ("  ", None, ("", "")),
    ("2025-03-01", None, ("2025-03-01", "")),
    (None, "2025-03-31", ("", "2025-03-31")),
    ("2025-03-01", "2025-03-31", ("2025-03-01", "2025-03-31")),
    ("2025-03", "2025-03", ("2025-03-01", "2025-03-31")),  # --until 2025-03 includes March 31
    ("2025", "2025", ("2025-01-01", "2025-12-31")),  # --until 2025 includes December 31
    (None, "2025-04", ("", "2025-04-30")),
    (None, "2024-02", ("", "2024-02-29")),  # leap year
    (None, "2023-02", ("", "2023-02-28")),
    (None, "1900-02", ("", "1900-02-28")),
    (None, "2000-02", ("", "2000-02-29")),
    ("March 2025", "March 2025", ("2025-03-01", "2025-03-31")),
    ("2024", "2025-03", ("2024-01-01", "2025-03-31")),
    ("Mar 5, 2025", "Mar 5, 2025", ("2025-03-05", "2025-03-05")),  # one day
    (" 2025-03-05 ", " 2025-03-06 ", ("2025-03-05", "2025-03-06")),
])
def test_parse_range_gives_first_and_last_days(since, until, expected):
    assert parse_range(since, until) == expected


@pytest.mark.parametrize("since, until", [
    ("2025-04-01", "2025-03-31"),
    ("2025-04", "2025-03"),
    ("2026", "2025"),
    ("2025-03-02", "2025-03-01"),
    ("2025-04-01", "2025-03"),  # --until 2025-03 ends March 31, still before April 1
])
def test_parse_range_refuses_a_reversed_range(since, until):
    with pytest.raises(ValueError) as err:
        parse_range(since, until)
    msg = str(err.value)
    assert "--since is after --until" in msg
    assert one_sentence(msg)


@pytest.mark.parametrize("since, until, option", [
    ("2025-13-01", None, "--since"),
    (None, "2025-02-30", "--until"),
    ("last week", "2025-03", "--since"),
    ("2025-03", "soon", "--until"),
])
def test_parse_range_names_the_option_that_is_not_a_date(since, until, option):
    bad = since if option == "--since" else until
    with pytest.raises(ValueError) as err:
        parse_range(since, until)
    msg = str(err.value)
    assert msg == f"{option} {bad!r} is not a date; use YYYY-MM-DD."
    assert one_sentence(msg)


# --- date_key ---------------------------------------------------------------------------------

@pytest.mark.parametrize("day, key", [
    ("2024-03-05", 20240305),
    ("1800-01-01", 18000101),
    ("2024-02-29", 20240229),
    ("2025-12-31", 20251231),
    ("", 0),
    (None, 0),
])
def test_date_key_is_the_day_as_a_number(day, key):
    assert date_key(day) == key


@pytest.mark.parametrize("day", ["2024-3-5", "2024/03/05", "20240305", "March 5, 2024", "2023-02-29",
                                 "2024-13-01", "x", 20240305])
def test_date_key_refuses_what_is_not_a_normalized_day(day):
    with pytest.raises(ValueError):
        date_key(day)


def test_date_key_orders_days_as_the_calendar_does():
    days = ["1999-12-31", "2024-02-29", "2024-03-01", "2024-10-01", "2024-12-31", "2025-01-01"]
    keys = [date_key(d) for d in days]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    lo, hi = parse_range("2024-03", "2024")
    assert [d for d in days if date_key(lo) <= date_key(d) <= date_key(hi)] == days[2:5]


def test_date_key_of_a_normalized_source_date():
    assert date_key(normalize_date("Tue, 05 Mar 2024 23:00:00 -0800")) == 20240305
    assert date_key(normalize_date("not a date")) == 0
