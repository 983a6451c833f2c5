"""Working days in mainland China: weekends, public holidays and the adjusted working days
(调休, a Saturday or Sunday that is a working day), from the maintained ``chinesecalendar``
package (``import chinese_calendar``), not a hand-written list.

The package's table covers the years the State Council has published. For a date outside it
dianhua falls back to Monday–Friday and logs a warning once per year, so an old install keeps
working (update the package each December: ``pip install -U chinesecalendar``).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from loguru import logger

from bot.clock import SHANGHAI

_warned: set[int] = set()
MAX_DAYS = 400  # a deadline never runs further than this over non-working days


def is_working_day(day: date) -> bool:
    """True on a working day in mainland China (public holidays off, adjusted days on)."""
    try:
        import chinese_calendar

        return bool(chinese_calendar.is_workday(day))
    except (ImportError, NotImplementedError) as exc:
        if day.year not in _warned:
            _warned.add(day.year)
            logger.warning("no holiday table for {} ({}); counting Monday to Friday as working "
                           "days. Update it: pip install -U chinesecalendar", day.year,
                           type(exc).__name__)
        return day.weekday() < 5


def add_working_time(start: datetime, delta: timedelta) -> datetime:
    """``start + delta`` counting only the time on working days (Beijing calendar days).

    A case opened on Friday evening with 72 hours to go is due on Wednesday evening, and a
    National Day week in between moves it past the holiday.
    """
    t = start.astimezone(SHANGHAI)
    left = delta
    for _ in range(MAX_DAYS):
        next_midnight = datetime.combine(t.date() + timedelta(days=1), datetime.min.time(), tzinfo=SHANGHAI)
        if is_working_day(t.date()):
            if t + left <= next_midnight:
                return (t + left).astimezone(start.tzinfo)
            left -= next_midnight - t
        t = next_midnight
    return (t + left).astimezone(start.tzinfo)


__all__ = ["add_working_time", "is_working_day"]
