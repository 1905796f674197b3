"""systemd's calendar events (a timer's OnCalendar=, systemd.time(7)), checked as systemd checks
them, on a machine that need not run systemd.

A transcription of the grammar and limits of systemd's calendar_spec_from_string and
calendar_spec_valid (src/shared/calendarspec.c): shorthands (daily, weekly, ...), then
`[weekdays] [[year-]month-day] [hour:minute[:second]] [zone]` with `*`, lists, `a..b` ranges,
`/` repetitions, `~` (days from the end of the month), `@epoch`, and each field within its bounds.
Cross-checked against systemd-analyze calendar (252). One difference, on the safe side: a zone
is accepted by its tz database name (UTC, Europe/Berlin), not by an abbreviation only the host's
local zone gives (CEST). Pure: no IO but the tz database's list of names.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from datetime import UTC, datetime, timedelta

SHORTHANDS = frozenset(
    "minutely hourly daily weekly monthly yearly annually anually quarterly biannually"
    " bi-annually semiannually semi-annually".split()
)
# Longer names first: "Monday" is read whole before "Mon" is tried.
WEEKDAYS = tuple(
    (name.lower(), day)
    for day, full in enumerate("Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split())
    for name in (full, full[:3])
)
USEC = 1_000_000  # seconds are kept in microseconds, as systemd keeps them
INT_MAX, ULONG_MAX = 2**31 - 1, 2**64 - 1
COMPONENTS_MAX = 240  # systemd's limit on a list's length
BOUNDS = {"year": (1970, 2199), "month": (1, 12), "day": (1, 31), "hour": (0, 23),
          "minute": (0, 59), "second": (0, 60 * USEC - 1)}  # fmt: skip
# Where no tz database is installed, a name of the shape systemd's timezone_is_valid allows.
ZONE_NAME = re.compile(r"^[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)*$")
# Read once, on the first zone named: the tz database's names (about 600).
zones = functools.cache(lambda: frozenset(zoneinfo.available_timezones()))
EXAMPLES = "e.g. daily, Sun *-*-* 03:00, *-*-1..7 02:30:00 Europe/Berlin"


class CalendarError(ValueError):
    """Not a calendar event systemd accepts; the message says why."""


def check(expression: str) -> str:
    """`expression` when systemd accepts it as a timer's OnCalendar=, else CalendarError."""
    # systemd strips a unit file's value before parsing it.
    text = without_zone(expression.strip())
    if not text:
        raise CalendarError("empty")
    if text.lower() in SHORTHANDS:
        return expression
    parser = _Parser(text)
    for field, chain in parser.parse().items():
        _valid(field, chain, end_of_month=field == "day" and parser.end_of_month)
    return expression


def without_zone(text: str) -> str:
    """`text` without its zone: a trailing " UTC" (any case) or a tz database name."""
    if text.lower().endswith(" utc"):
        return text[:-4]
    head, space, zone = text.rpartition(" ")
    known = zones()
    if space and (zone in known if known else ZONE_NAME.match(zone)):
        return head
    return text


class _Parser:
    """One pass over the text, as systemd's parser makes it: weekdays, date, time."""

    def __init__(self, text: str):
        self.text, self.pos = text, 0
        self.spec: dict[str, list[list[int]] | None] = {}
        self.end_of_month = False  # a `~` in the date

    def peek(self, ahead: int = 0) -> str:
        """The character at the cursor (or `ahead` of it); "" at the end, as C's NUL."""
        return self.text[self.pos + ahead : self.pos + ahead + 1]

    def fail(self, what: str) -> CalendarError:
        rest = self.text[self.pos :]
        return CalendarError(f"{what} at {rest!r}" if rest else f"{what} at the end")

    def skip_spaces(self) -> None:
        self.pos += len(self.text[self.pos :]) - len(self.text[self.pos :].lstrip(" "))

    def parse(self) -> dict[str, list[list[int]] | None]:
        self.weekdays()
        if self.peek() == "@":
            self.timestamp()
        else:
            self.date()
            self.time()
        return self.spec

    def weekdays(self) -> None:
        """Mon,Wed..Fri (or Mon-Wed): a list of days and ranges, then spaces."""
        open_range, first = None, True
        while True:
            rest = self.text[self.pos :].lower()
            found = next(((n, d) for n, d in WEEKDAYS if rest.startswith(n)), None)
            if found is None:
                if first:
                    return  # no weekdays: the date comes first
                raise self.fail("expected a weekday")
            name, day = found
            if self.peek(len(name)) not in ("", "-", ".", ",", " "):
                raise self.fail("not a weekday")
            if open_range is not None and open_range > day:
                raise self.fail("a weekday range must go forwards (Mon..Fri)")
            self.pos += len(name)
            if self.peek() in ("", " "):
                self.skip_spaces()
                return
            open_range = self.weekday_separator(open_range, day)
            if self.peek() in ("", " "):  # a trailing comma, but no open range
                self.skip_spaces()
                if open_range is not None:
                    raise self.fail("a weekday range needs its last day")
                return
            first = False

    def weekday_separator(self, open_range: int | None, day: int) -> int | None:
        """Reads `..`, `-` or `,` after a day: the start of a range that is now open, or None."""
        if self.peek() == ",":
            self.pos += 1
            return None
        if open_range is not None or (self.peek() == "." and self.peek(1) != "."):
            raise self.fail("expected a weekday list (Mon,Tue) or range (Mon..Fri)")
        self.pos += 2 if self.peek() == "." else 1
        return day

    def timestamp(self) -> None:
        """@SECONDS since the epoch (always UTC): one point in time, nothing after it."""
        self.pos += 1 + len(re.match(r"[ \t\n\v\f\r]*\+?", self.text[self.pos + 1 :])[0])
        seconds = self.digits("expected seconds since the epoch")
        if self.peek():
            raise self.fail("nothing may follow @SECONDS")
        try:
            year = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=int(seconds))).year
        except OverflowError:
            raise CalendarError(f"@{seconds} is out of range") from None
        self.spec["year"] = [[year, -1, 0]]

    def date(self) -> None:
        """[year-]month-day, `~` for days from the end of the month; absent when a time or
        nothing comes first."""
        start = self.pos
        if not self.peek():
            return
        first = self.chain()
        if self.peek() in ("", ":"):  # it was the hour
            self.pos = start
            return
        second = self.date_separator()
        if self.peek() in ("", " "):
            self.skip_spaces()
            return self.spec.update(month=first, day=second)
        if self.end_of_month:
            raise self.fail("`~` goes between month and day only")
        third = self.date_separator()
        if self.peek() not in ("", " "):
            raise self.fail("expected a space after the date")
        self.skip_spaces()
        self.spec.update(year=_fix_years(first), month=second, day=third)

    def date_separator(self) -> list[list[int]] | None:
        """`-` or `~` (remembered), then the next field."""
        if self.peek() == "~":
            self.end_of_month = True
        elif self.peek() != "-":
            raise self.fail("expected - or ~ between the parts of a date")
        self.pos += 1
        return self.chain()

    def time(self) -> None:
        """hour:minute[:second]; none at all is 00:00:00."""
        if not self.peek():
            return
        self.spec["hour"] = self.chain()
        if self.peek() != ":":
            raise self.fail("expected hour:minute")
        self.pos += 1
        self.spec["minute"] = self.chain()
        if not self.peek():
            return
        if self.peek() != ":":
            raise self.fail("expected :second")
        self.pos += 1
        self.spec["second"] = self.chain(seconds=True)
        if self.peek():
            raise self.fail("unexpected text after the time")

    def chain(self, seconds: bool = False) -> list[list[int]] | None:
        """`*` (None, or every second from 0), or a comma list of values, ranges, repetitions."""
        if self.peek() == "*":
            self.pos += 1
            return [[0, -1, USEC]] if seconds else None
        components = []
        while True:
            if len(components) > COMPONENTS_MAX:
                raise self.fail(f"more than {COMPONENTS_MAX} values in a list")
            components.append(self.component(seconds))
            if self.peek() != ",":
                return components
            self.pos += 1

    def component(self, seconds: bool) -> list[int]:
        """start[..stop][/repeat] as [start, stop or -1, repeat or 0]."""
        start, stop, repeat = self.number(seconds), -1, 0
        if self.peek() == "." and self.peek(1) == ".":
            self.pos += 2
            stop, repeat = self.number(seconds), USEC if seconds else 1
        if self.peek() == "/":
            self.pos += 1
            repeat = self.number(seconds)
            if repeat == 0:
                raise self.fail("a repetition of 0")
        elif start > INT_MAX - repeat:
            raise self.fail("a number out of range")
        elif seconds and stop >= 0 and start + repeat > stop:
            raise self.fail("a range of seconds needs at least one whole second (or a /repetition)")
        if self.peek() not in ("", " ", ",", "-", "~", ":"):
            raise self.fail("unexpected character")
        return [start, stop, repeat]

    def number(self, seconds: bool) -> int:
        """A decimal; for seconds, in microseconds, with up to 6 decimal places (rounded)."""
        value = int(self.digits("expected a number"))
        if value > ULONG_MAX:
            raise self.fail("a number out of range")
        if seconds:
            value *= USEC
            if self.peek() == "." and self.peek(1) != ".":
                self.pos += 1
                value += self.fraction()
        if value > INT_MAX:
            raise self.fail("a number out of range")
        return value

    def fraction(self) -> int:
        """Microseconds of the decimal places at the cursor; a 7th digit of 5-9 rounds up."""
        places = self.digits("expected decimal places")
        return int(places[:6].ljust(6, "0")) + (len(places) > 6 and places[6] >= "5")

    def digits(self, missing: str) -> str:
        digits = re.match(r"[0-9]*", self.text[self.pos :])[0]
        if not digits:
            raise self.fail(missing)
        self.pos += len(digits)
        return digits


def _fix_years(chain: list[list[int]] | None) -> list[list[int]] | None:
    """Two-digit years as systemd reads them: 0-69 are 2000-2069, 70-99 are 1970-1999."""
    for component in chain or []:
        for i in (0, 1):
            if 0 <= component[i] < 100:
                component[i] += 2000 if component[i] < 70 else 1900
    return chain


def _valid(field: str, chain: list[list[int]] | None, end_of_month: bool) -> None:
    """Each value within the field's bounds, and each repetition able to happen once."""
    if field not in BOUNDS or chain is None:
        return
    low, top = BOUNDS[field]
    for index, (start, stop, repeat) in enumerate(sorted(set(map(_normalized, chain)))):
        # At most 28 days from the end of the month; systemd's check, recursing down the sorted
        # list, takes 3 more days off for each further entry: *~1,26 is refused, *~26 is not.
        high = top - 3 * (index + 1) if end_of_month else top
        shown = f"{field} {_show(field, start)}" + (f"..{_show(field, stop)}" if stop >= 0 else "")
        if not (low <= start <= high and (stop < 0 or low <= stop <= high)):
            raise CalendarError(f"{shown} is outside {_show(field, low)}-{_show(field, high)}")
        if (repeat > high - low or (stop >= 0 and start + repeat > stop)
                or (stop < 0 and end_of_month and start - repeat < low)
                or (stop < 0 and not end_of_month and start + repeat > high)):  # fmt: skip
            raise CalendarError(f"{shown}/{_show(field, repeat)} never repeats")


def _normalized(component: list[int]) -> tuple[int, int, int]:
    """systemd's normal form: a range shortened to whole repetitions, one that cannot repeat
    (or ends where it starts) a single value."""
    start, stop, repeat = component
    if stop > start and repeat > 0:
        stop -= (stop - start) % repeat
    if (stop > start and repeat > 0 and start + repeat > stop) or start == stop:
        return start, -1, 0
    return start, stop, repeat


def _show(field: str, value: int) -> str:
    if field != "second":
        return str(value)
    return f"{value // USEC}.{value % USEC:06d}".rstrip("0").rstrip(".")
