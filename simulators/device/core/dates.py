"""Civil date arithmetic on protocol ints, without ``datetime`` (absent on MicroPython).

Dates are ``YYYYMMDD`` ints and moments ``YYYYMMDDhhmmss`` ints, as the field codec carries them.
Moments are naive China Standard Time (UTC+8, no daylight saving), converted to and from Unix
epoch seconds here by arithmetic, never through ``time.localtime``: a Pico has no time zone and
the box may run in UTC.
"""

CHINA_UTC_OFFSET = 8 * 3600
SECONDS_PER_DAY = 86400
_DATETIME_FLOOR = 100000000  # the smallest YYYYMMDDhhmmss above any YYYYMMDD


def days_from_civil(year: int, month: int, day: int) -> int:
    """Return the days since 1970-01-01 of a proleptic Gregorian date."""
    # H. Hinnant's algorithm: count from a March-based year so February's length comes last.
    if month <= 2:
        year -= 1
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """Return (year, month, day) of a count of days since 1970-01-01."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year, month, day


def make_date(year: int, month: int, day: int) -> int:
    """Return the ``YYYYMMDD`` int of a date."""
    return year * 10000 + month * 100 + day


def split_date(value: int) -> tuple[int, int, int]:
    """Return (year, month, day) of a ``YYYYMMDD`` int."""
    return value // 10000, value // 100 % 100, value % 100


def make_datetime(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> int:
    """Return the ``YYYYMMDDhhmmss`` int of a moment."""
    return make_date(year, month, day) * 1000000 + hour * 10000 + minute * 100 + second


def split_datetime(value: int) -> tuple[int, int, int, int, int, int]:
    """Return (year, month, day, hour, minute, second) of a ``YYYYMMDDhhmmss`` int."""
    year, month, day = split_date(value // 1000000)
    rest = value % 1000000
    return year, month, day, rest // 10000, rest // 100 % 100, rest % 100


def date_of(value: int) -> int:
    """Return the ``YYYYMMDD`` of a moment (a date is returned unchanged)."""
    return value // 1000000 if value >= _DATETIME_FLOOR else value


def is_valid_date(value: int) -> bool:
    """Tell whether a ``YYYYMMDD`` int names a real calendar day."""
    year, month, day = split_date(value)
    return 1 <= month <= 12 and 1 <= day <= days_in_month(year, month)


def is_leap(year: int) -> bool:
    """Tell whether ``year`` has a 29 February."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    """Return the number of days of ``year``-``month``."""
    if month == 2:
        return 29 if is_leap(year) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def to_days(value: int) -> int:
    """Return the days since 1970-01-01 of a ``YYYYMMDD`` (or the day of a moment)."""
    year, month, day = split_date(date_of(value))
    return days_from_civil(year, month, day)


def from_days(days: int) -> int:
    """Return the ``YYYYMMDD`` of a count of days since 1970-01-01."""
    year, month, day = civil_from_days(days)
    return make_date(year, month, day)


def add_days(value: int, count: int) -> int:
    """Return the date ``count`` days after a ``YYYYMMDD`` (before, if negative)."""
    return from_days(to_days(value) + count)


def epoch_to_datetime(seconds: int) -> int:
    """Return the China-time ``YYYYMMDDhhmmss`` of Unix epoch ``seconds``."""
    local = int(seconds) + CHINA_UTC_OFFSET
    days = local // SECONDS_PER_DAY
    rest = local - days * SECONDS_PER_DAY
    year, month, day = civil_from_days(days)
    return make_datetime(year, month, day, rest // 3600, rest // 60 % 60, rest % 60)


def datetime_to_epoch(value: int) -> int:
    """Return the Unix epoch seconds of a China-time ``YYYYMMDDhhmmss``."""
    year, month, day, hour, minute, second = split_datetime(value)
    local = days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second
    return local - CHINA_UTC_OFFSET


def add_seconds(value: int, count: int) -> int:
    """Return the moment ``count`` seconds after a ``YYYYMMDDhhmmss``."""
    return epoch_to_datetime(datetime_to_epoch(value) + count)


def month_index(value: int) -> int:
    """Return year * 12 + month - 1 of a date or moment, so months compare and subtract."""
    year, month, _ = split_date(date_of(value))
    return year * 12 + month - 1


def month_from_index(index: int) -> tuple[int, int]:
    """Return (year, month) of a :func:`month_index`."""
    return index // 12, index % 12 + 1


def period_of(value: int) -> int:
    """Return the ``YYYYMM`` of a date or moment."""
    return date_of(value) // 100


def period_index(period: int) -> int:
    """Return the :func:`month_index` of a ``YYYYMM``."""
    return period // 100 * 12 + period % 100 - 1


def first_day(year: int, month: int) -> int:
    """Return the ``YYYYMMDD`` of the first day of ``year``-``month``."""
    return make_date(year, month, 1)


def last_day(year: int, month: int) -> int:
    """Return the ``YYYYMMDD`` of the last day of ``year``-``month``."""
    return make_date(year, month, days_in_month(year, month))


def last_day_of_month(value: int) -> int:
    """Return the last day of the month of a date or moment."""
    year, month, _ = split_date(date_of(value))
    return last_day(year, month)


def first_day_next_month(value: int) -> int:
    """Return the first day of the month after that of a date or moment."""
    year, month = month_from_index(month_index(value) + 1)
    return first_day(year, month)
