"""current_time: the current date and time in an IANA time zone."""

from datetime import datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from langchain_core.tools import ToolException, tool


def _now(zone: tzinfo) -> datetime:
    """The clock, kept apart so tests can freeze it."""
    return datetime.now(zone)


@cache
def _zone_names() -> dict[str, str]:
    """Valid zone keys by lower-cased key; looking names up here first keeps
    odd input (paths, directories like "Europe") away from the filesystem."""
    return {name.lower(): name for name in available_timezones()}


def _find_zone(name: str) -> ZoneInfo:
    # Models often get the case or the underscores wrong ("europe/paris",
    # "America/New York"); accept those rather than fail the call.
    key = name.strip().replace(" ", "_") or "UTC"
    if key.lower() not in _zone_names():
        raise ToolException(
            f"Unknown time zone {name[:60]!r}: use an IANA name such as 'UTC', 'Europe/Paris' or 'America/New_York'."
        )
    return ZoneInfo(_zone_names()[key.lower()])


@tool
def current_time(timezone: str = "UTC") -> str:
    """Get the current date, time and weekday in a time zone.

    `timezone` is an IANA name such as "UTC", "Europe/Paris", "Asia/Shanghai"
    or "America/New_York" (default "UTC").
    """
    zone = _find_zone(timezone)
    now = _now(zone)
    return f"{now.isoformat(timespec='seconds')} ({now:%A}, {zone.key}, {now.tzname()})"
