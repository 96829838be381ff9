"""When digests are due: cron expressions in Beijing time, the period each fire reports on,
and catching up on periods missed while the service was down."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from bot.config import ConfigError, load_settings
from escalation.digests.cron import CronError, parse_cron, previous_fires
from escalation.digests.model import SHANGHAI
from escalation.digests.schedule import due_periods, period_fired_at, webhook_backoff

DAILY = parse_cron("0 9 * * *")
WEEKLY = parse_cron("0 9 * * mon")
HOURLY = parse_cron("0 * * * *")


def at(day: int, hour: int, minute: int = 0, month: int = 6) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


def test_the_daily_report_at_nine_is_about_yesterday() -> None:
    (fire,) = previous_fires(DAILY, at(3, 9, 0), 1)
    assert fire == at(3, 9)
    assert period_fired_at("daily", fire).first_day == date(2025, 6, 2)
    assert previous_fires(DAILY, at(3, 8, 59), 1) == [at(2, 9)]


def test_the_weekly_summary_on_monday_is_about_last_week() -> None:
    (fire,) = previous_fires(WEEKLY, at(11, 12), 1)  # a Wednesday
    assert fire == at(9, 9)  # that week's Monday
    week = period_fired_at("weekly", fire)
    assert (week.first_day, week.last_day) == (date(2025, 6, 2), date(2025, 6, 8))


def test_the_hourly_summary_is_about_the_hour_before() -> None:
    period = period_fired_at("hourly", at(3, 10))
    assert period.start == at(3, 9)
    assert period.end == at(3, 10)


def test_nothing_is_due_twice_and_missed_days_are_caught_up() -> None:
    assert [p.first_day for p in due_periods("daily", DAILY, None, at(3, 9, 1))] == [
        date(2025, 6, 2)
    ]
    done = period_fired_at("daily", at(3, 9)).start
    assert due_periods("daily", DAILY, done, at(3, 23)) == []
    # Down from the 3rd evening to the 6th at 10:00: the 3rd, 4th and 5th are owed.
    owed = due_periods("daily", DAILY, done, at(6, 10))
    assert [p.first_day for p in owed] == [date(2025, 6, d) for d in (3, 4, 5)]
    # A long outage sends at most a week of them.
    assert len(due_periods("daily", DAILY, done, at(30, 10))) == 7


def test_cron_fields_ranges_steps_and_names() -> None:
    cron = parse_cron("*/15 8-10 * * mon-fri")
    assert cron.minutes == (0, 15, 30, 45)
    assert cron.hours == (8, 9, 10)
    assert cron.on(date(2025, 6, 6))
    assert not cron.on(date(2025, 6, 7))
    assert parse_cron("0 9 * * 0").on(date(2025, 6, 8))  # Sunday as 0
    assert parse_cron("0 9 * * 7").on(date(2025, 6, 8))  # and as 7


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("0 9 * *", "five"),
        ("61 9 * * *", "minute"),
        ("0 25 * * *", "hour"),
        ("0 9 * * funday", "day of week"),
        ("0 9 31 2 *", "never fires"),
        ("0 9 5-1 * *", "backwards"),
    ],
)
def test_a_bad_cron_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(CronError, match=says):
        parse_cron(text)


def test_a_bad_cron_setting_stops_start_up_naming_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(digest_daily_cron="9 点", _env_file=None)
    assert "HELPDESK_DIGEST_DAILY_CRON" in str(caught.value)
    assert load_settings(digest_hourly_cron="", _env_file=None).digest_hourly_cron == ""


def test_webhook_retries_back_off_to_an_hour() -> None:
    waits = [webhook_backoff(n) for n in range(1, 10)]
    assert waits[0] == timedelta(seconds=30)
    assert waits[1] == timedelta(seconds=60)
    assert waits == sorted(waits)
    assert waits[-1] == timedelta(hours=1)
