"""Calendar events: accepted and refused as systemd's own test corpus (test-calendarspec.c) says,
plus what operators write."""

import pytest

from agenthost.calendar import CalendarError, check
from agenthost.settings import SettingsError, validate

ACCEPTED = [
    # systemd's test_one inputs
    "Sat,Thu,Mon-Wed,Sat-Sun", "Sat,Thu,Mon..Wed,Sat..Sun", "Mon,Sun 12-*-* 2,1:23",
    "Wed *-1", "Wed-Wed,Wed *-1", "Wed..Wed,Wed *-1", "Wed, 17:48", "Wednesday,",
    "Wed-Sat,Tue 12-10-15 1:2:3", "Wed..Sat,Tue 12-10-15 1:2:3", "*-*-7 0:0:0", "10-15",
    "monday *-12-* 17:00", "Mon,Fri *-*-3,1,2 *:30:45", "12,14,13,12:20,10,30",
    "mon,fri *-1/2-1,3 *:30:45", "03-05 08:05:40", "08:05:40", "05:40",
    "Sat,Sun 12-05 08:05:40", "Sat,Sun 08:05:40", "2003-03-05 05:40", "2003-03-05", "03-05",
    "hourly", "daily", "monthly", "weekly", "minutely", "quarterly", "semi-annually",
    "annually", "*:2/3", "2015-10-25 01:00:00 uTc", "2015-10-25 01:00:00 Asia/Vladivostok",
    "weekly Pacific/Auckland", "2016-03-27 03:17:00.4200005", "2016-03-27 03:17:00/0.42",
    "9..11,13:00,30", "1..3-1..3 1..3:1..3", "00:00:1.125..2.125", "00:00:1.0..3.8",
    "00:00:01..03", "00:00:01/2,02..03", "*-*~1 Utc", "*-*~05,3 ", "*-*~* 00:00:00", "Monday",
    "Monday *-*-*", "*-*-*", "*:*:*", "*:*", "12:*", "*:30", "93..00-*-*", "00..07-*-*",
    "*:20..39/5", "00:00:20..40/1", "*~03/1,03..05", "@1493187147", "@1493187147 UTC", "@0",
    "@0 UTC", "*:05..05", "*:05..10/6", "2016-02~01 UTC", "Mon 2017-05~01..07 UTC",
    "Mon 2017-05~07/1 UTC", "*-*-01/5 04:00:00 UTC", "2017-08-06 9..17/2:00 UTC",
    "2016-12-* 3..21/6:00 UTC", "Sun *-*-* 01:00:00 Europe/Dublin", "*-04-31",
    # what operators write
    "yearly", "semiannually", "DAILY", "Sun *-*-* 03:00", "*-*-* 03:00:00", "Mon..Fri 22:30",
    "*-*-1..7 02:30:00 Europe/Berlin", "Sat *-*-1..7 04:00", "*-*-* *:0/15", " daily ",
    "*~26/5", "*~1,25", "*~1,1,25", "*~1,2,3,4,5,6,7",
]  # fmt: skip

REFUSED = [
    # systemd's own refusals
    "test", " utc", "    ", "", "7", "121212:1:2", "2000-03-05.23 00:00:00",
    "2000-03-05 00:00.1:00", "00:00:00/0.00000001", "00:00:00.0..00.9", "2016~11-22",
    "*-*~5/5", "Monday.. 12:00", "Monday..", "-00:+00/-5", "00:+00/-5",
    "2016- 11- 24 12: 30: 00", "*~29", "*~16..31", "12..1/2-*", "20/4:00", "00:00/60",
    "00:00:2300", "00:00:18446744073709551615", "@88588582097858858",
    # what operators write by mistake
    "every night", "nightly", "24:00", "*-*-* 03:60", "*-13-01", "*-02-32", "Mon-Sun-Tue",
    "Fri..Mon", "Mond", "daily;reboot", "daily Mars/Olympus", "1969-01-01", "2200-01-01",
    "*~1,26", "*~26/5,1", "*~1,2,3,4,5,6,7,8",
    "0 3 * * *", "*/5", "03:00 daily", "@-1", "@12 03:00", "Mon,,", "Mon..",
]  # fmt: skip


@pytest.mark.parametrize("expression", ACCEPTED)
def test_systemd_accepts(expression):
    assert check(expression) == expression


@pytest.mark.parametrize("expression", REFUSED)
def test_systemd_refuses(expression):
    with pytest.raises(CalendarError):
        check(expression)


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("every night", "expected a number at 'every night'"),
        ("*-*-* 25:00", "hour 25 is outside 0-23"),
        ("*-*-* 03:00:61", "second 61 is outside 0-59.999999"),
        ("20/4:00", "hour 20/4 never repeats"),
        ("Fri..Mon", "a weekday range must go forwards"),
    ],
)
def test_the_refusal_says_why(expression, reason):
    with pytest.raises(CalendarError, match=reason.replace(".", r"\.").replace("*", r"\*")):
        check(expression)


def test_the_setting_is_refused_naming_host_setting_value_and_why():
    with pytest.raises(SettingsError) as caught:
        validate("agent-01", {"docker_prune_schedule": "every night"}, set())
    message = str(caught.value)
    assert "host agent-01: docker_prune_schedule = 'every night': " in message
    assert "systemd" in message and "expected a number" in message
