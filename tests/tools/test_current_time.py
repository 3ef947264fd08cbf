"""current_time: the clock in a named time zone."""

from datetime import UTC, datetime, timedelta
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
from langchain_core.tools import BaseTool, ToolException


@pytest.fixture
def module(load_tool_module) -> ModuleType:
    return load_tool_module("current_time")


def _parse(output: str) -> datetime:
    return datetime.fromisoformat(output.split(" ", 1)[0])


def test_is_a_described_tool_with_an_optional_zone(module: ModuleType) -> None:
    tool: BaseTool = module.current_time
    assert tool.name == "current_time"
    assert tool.args == {"timezone": {"default": "UTC", "title": "Timezone", "type": "string"}}
    assert "IANA" in tool.description


def test_defaults_to_utc_now(module: ModuleType) -> None:
    output = module.current_time.invoke({})
    now = _parse(output)
    assert now.utcoffset() == timedelta(0)
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    assert output.endswith(f"({now:%A}, UTC, UTC)")


def test_reports_the_time_in_the_given_zone(module: ModuleType) -> None:
    output = module.current_time.invoke({"timezone": "Asia/Shanghai"})
    now = _parse(output)
    assert now.utcoffset() == timedelta(hours=8)  # China has no daylight saving time
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    assert "Asia/Shanghai" in output


def test_formats_iso_time_weekday_and_abbreviation(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    frozen = datetime(2024, 7, 14, 12, 30, 5, 123456, tzinfo=UTC)
    monkeypatch.setattr(module, "_now", lambda zone: frozen.astimezone(zone))
    assert module.current_time.invoke("Europe/Paris") == "2024-07-14T14:30:05+02:00 (Sunday, Europe/Paris, CEST)"
    assert module.current_time.invoke("America/New_York") == (
        "2024-07-14T08:30:05-04:00 (Sunday, America/New_York, EDT)"
    )


@pytest.mark.parametrize(
    ("given", "zone"),
    [("europe/paris", "Europe/Paris"), ("America/New York", "America/New_York"), ("utc", "UTC"), ("", "UTC")],
)
def test_forgives_case_and_spaces(module: ModuleType, given: str, zone: str) -> None:
    now = _parse(module.current_time.invoke({"timezone": given}))
    assert now.utcoffset() == datetime.now(ZoneInfo(zone)).utcoffset()
    assert zone in module.current_time.invoke({"timezone": given})


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Europe", "/etc/passwd", "../../etc/passwd", "x" * 300])
def test_unknown_zone_is_a_clear_error(module: ModuleType, zone: str) -> None:
    with pytest.raises(ToolException, match="Unknown time zone .*IANA name"):
        module.current_time.invoke({"timezone": zone})
