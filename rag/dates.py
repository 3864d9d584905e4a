"""Dates: what a source's metadata or a passage's opening says it was written, and the day range a
user asks to search, all as "YYYY-MM-DD" strings (and as YYYYMMDD numbers for the vector store,
whose filters compare numbers only).

Standard library only: this is imported on hot paths. A date is always the one written in the
source's own timezone, never converted to UTC ("2024-03-05T23:30:00-05:00" is March 5). Only
dates with a day are dates here: "March 2025" or "2024" in a source is not precise enough to
filter on, though a user may give a month or a year as a range bound (parse_day, parse_range).
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import date, datetime

__all__ = ["date_key", "leading_date", "normalize_date", "parse_day", "parse_range"]

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MON = (r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
        r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?")
_ORD = r"(?:st|nd|rd|th)?\b"
# The three shapes a day is written in; each names its groups y, mon or m, d.
_MDY = rf"{_MON}\s*(?P<d>\d{{1,2}})(?!\d){_ORD},?\s*(?P<y>\d{{4}})(?!\d)"  # March 5, 2024
_DMY = rf"(?P<d>\d{{1,2}})(?!\d){_ORD}(?:\s+of)?[\s-]*{_MON}[\s,-]*(?P<y>\d{{4}})(?!\d)"  # 5 March 2024
_YMD = r"(?P<y>\d{4})(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})(?!\d)"  # 2024-03-05, 2024/3/5
_WEEKDAY = (r"(?:(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thu(?:rs?)?|fri|"
            r"sat|sun)\b\.?,?\s+)?")
# What may follow the day in a metadata value: a time, then up to two zone marks ("+0000 UTC").
_TAIL = (r"(?:(?:T|\s+at\s+|,?\s+)\d{1,2}(?::\d{2}){1,2}(?:[.,]\d+)?(?:\s*[ap]\.?m\b\.?)?)?"
         r"(?:\s*(?:z|[+-]\d{2}(?::?\d{2})?|\(?(?-i:[A-Z]{1,5})\)?)){0,2}\s*")
_WRITTEN = [re.compile(_WEEKDAY + core + _TAIL, re.I) for core in (_YMD, _MDY, _DMY)]
# Compact ISO 8601 ("20240305", "20240305T100000Z") and PDF dates ("D:20240305120000+01'00'").
_COMPACT = re.compile(r"(?:D:)?(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:T?\d{2}(?:\d{2}){0,2}(?:\.\d+)?)?"
                      r"(?:[z+-](?:\d{2}'?(?:\d{2}'?)?)?)?", re.I)

# A passage's opening: "Updated Jan 5, 2024, 10:31 AM ET", "WASHINGTON, July 9, 2022 —",
# "Monday, March 3, 2025 ...". Narrative openings ("On July 9, 2022, ...") are not datelines.
_LABEL = (r"(?:(?:last\s+)?(?:updated|modified|published|posted|first\s+published|dated?)"
          r"(?:\s+on)?(?:\s*:\s*|\s+))?")
_PLACE = r"(?:(?-i:[A-Z][A-Z.'-]*(?:\s+[A-Z][A-Z.'-]*){0,4}),\s+)?"
_END = r"(?:T\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:z|[+-]\d{2}:?\d{2})?)?(?!\w)"
_LEADING = [re.compile(rf"[\s(\[]*{_LABEL}{_PLACE}{_WEEKDAY}(?P<date>{core}){_END}", re.I)
            for core in (_YMD, _MDY, _DMY)]
LEADING_WINDOW = 40  # a passage's own date starts within this many characters of its first

_YEAR = re.compile(r"\d{4}")
_YEAR_MONTH = re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})")
_MONTH_YEAR = re.compile(rf"{_MON},?\s*(?P<y>\d{{4}})", re.I)
_DAY_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")

EARLIEST_YEAR = 1800
MAX_DATE_CHARS = 100


def _today() -> date:
    return date.today()


def _latest() -> date:
    """The latest date a source can plausibly carry: one year after today."""
    today = _today()
    try:
        return today.replace(year=today.year + 1)
    except ValueError:  # today is February 29
        return date(today.year + 1, 2, 28)


def _day(y: int | str, m: int | str, d: int | str) -> date | None:
    try:
        return date(int(y), int(m), int(d))
    except ValueError:
        return None


def _from_match(m: re.Match) -> date | None:
    g = m.groupdict()
    month = _MONTHS[g["mon"][:3].lower()] if g.get("mon") else g["m"]
    return _day(g["y"], month, g["d"])


def _parse_text(s: str) -> date | None:
    """The calendar day a whole string writes, with no check of how plausible it is."""
    s = s.strip()
    if len(s) > MAX_DATE_CHARS:  # no date is written that long; spares the patterns long junk
        return None
    for pattern in (_COMPACT, *_WRITTEN):
        m = pattern.fullmatch(s)
        if m:
            return _from_match(m)
    return None


def _plausible(d: date | None) -> str:
    if d is None or d.year < EARLIEST_YEAR or d > _latest():
        return ""
    return d.isoformat()


def normalize_date(value) -> str:
    """Any date a source's metadata gives -> "YYYY-MM-DD", or "" when it is not a date.

    Accepts datetime and date objects (an aware datetime keeps its own local date);
    time.struct_time (feedparser's *_parsed, which feedparser itself has already put in UTC);
    ISO 8601 ("2024-03-05", "2024-03-05T10:00:00+02:00", "20240305"); RFC 822/2822 as RSS writes it
    ("Tue, 05 Mar 2024 10:00:00 GMT"); PDF dates ("D:20240305120000+01'00'"); and written dates
    ("March 5, 2024", "Mar. 5, 2024", "5 March 2024", "Sept. 5, 2024", "2024/03/05"), optionally
    followed by a time and a zone. The date is the one written, never converted to UTC.
    Not dates: impossible days (Feb 30), years before 1800, days more than one year after today,
    anything without a day ("March 2024", "2024"), and ambiguous numeric days ("03/05/2024").
    """
    if isinstance(value, datetime):
        d = value.date()
    elif isinstance(value, date):
        d = value
    elif isinstance(value, time.struct_time):
        d = _day(value.tm_year, value.tm_mon, value.tm_mday)
    elif isinstance(value, str):
        d = _parse_text(value)
    else:
        return ""
    return _plausible(d)


def leading_date(text: str) -> str:
    """The date a passage itself opens with, as news snippets and datelines write it -> "YYYY-MM-DD",
    else "".

    "Jul 9, 2022 ... The summit", "9 July 2022 - ...", "2022-07-09 The ...", "Mar. 3, 2025 · ...",
    "Updated Jan 5, 2024, 10:31 AM ET", "Published: 12 February 2025", "Monday, March 3, 2025",
    "WASHINGTON, July 9, 2022 —". The date must start within the first 40 characters (after
    leading whitespace) and have a day: a date later in the sentence, a year or month alone,
    "March 2025 figures", relative dates ("3 days ago") and narrative openings ("On July 9, 2022,")
    give "".
    """
    if not isinstance(text, str):
        return ""
    head = text.lstrip()[:LEADING_WINDOW + 60]
    for pattern in _LEADING:
        m = pattern.match(head)
        if m and m.start("date") <= LEADING_WINDOW:
            return _plausible(_from_match(m))
    return ""


def _not_a_date(value: object, label: str = "") -> ValueError:
    who = f"{label} " if label else ""
    return ValueError(f"{who}{value!r} is not a date; use YYYY-MM-DD.")


def _user_day(value: str, label: str = "", last: bool = False) -> str:
    """A user's day, month ("2025-03", "March 2025") or year ("2025") -> its first day, or its
    last when last=True; raises ValueError naming label ("--since") otherwise."""
    if not isinstance(value, str):
        raise _not_a_date(value, label)
    s = value.strip()
    m = _YEAR_MONTH.fullmatch(s) or _MONTH_YEAR.fullmatch(s)
    if _YEAR.fullmatch(s):
        y, mo = int(s), 12 if last else 1
    elif m:
        y = int(m["y"])
        mo = _MONTHS[m["mon"][:3].lower()] if m.groupdict().get("mon") else int(m["m"])
    else:
        d = _parse_text(s)
        if d is None:
            raise _not_a_date(value, label)
        return d.isoformat()
    if not (1 <= y and 1 <= mo <= 12):
        raise _not_a_date(value, label)
    day = calendar.monthrange(y, mo)[1] if last else 1
    return date(y, mo, day).isoformat()


def parse_day(value: str) -> str:
    """A date a user gives on the command line or in a form -> "YYYY-MM-DD".

    "2025-03-01"; "2025-03" or "March 2025" -> the first day of the month; "2025" -> January 1;
    and the written forms normalize_date accepts ("Mar 1, 2025", "1 March 2025", "2025/03/01").
    A user's day may lie in the future (a range bound, not a source's claim). Raises ValueError
    ("'2025-13-01' is not a date; use YYYY-MM-DD.") for anything else, impossible days included.
    """
    return _user_day(value)


def parse_range(since: str | None, until: str | None,
                names: tuple[str, str] = ("--since", "--until")) -> tuple[str, str]:
    """--since and --until -> ("YYYY-MM-DD" or "", "YYYY-MM-DD" or ""); "" where not given.

    since takes the first day of a month or year it names, until the last ("--until 2025-03"
    includes March 31, "--until 2025" December 31). Raises ValueError when either is not a date,
    or "--since is after --until: ..." when they are reversed; `names` are what the messages call
    the two bounds (the page and the API say "Since" and "Until").
    """
    lo = _user_day(since, names[0]) if since and since.strip() else ""
    hi = _user_day(until, names[1], last=True) if until and until.strip() else ""
    if lo and hi and lo > hi:
        raise ValueError(f"{names[0]} is after {names[1]}: {lo} comes after {hi}.")
    return lo, hi


def date_key(day: str) -> int:
    """"2024-03-05" -> 20240305, the number the vector store filters on; "" (no date) -> 0.
    Raises ValueError for anything but a real "YYYY-MM-DD" day."""
    if not day:
        return 0
    if not isinstance(day, str) or not _DAY_FORMAT.fullmatch(day) or _day(*day.split("-")) is None:
        raise ValueError(f"{day!r} is not a YYYY-MM-DD date.")
    return int(day.replace("-", ""))
