"""unit_converter: each category, the aliases, and cross-category refusals."""

import re

import pytest
from langchain_core.tools import BaseTool, ToolException


@pytest.fixture
def convert(load_tool_module):
    tool: BaseTool = load_tool_module("unit_converter").unit_converter

    def run(value: float, from_unit: str, to_unit: str) -> str:
        return tool.invoke({"value": value, "from_unit": from_unit, "to_unit": to_unit})

    return run


def test_is_a_described_tool_with_three_arguments(load_tool_module) -> None:
    tool: BaseTool = load_tool_module("unit_converter").unit_converter
    assert tool.name == "unit_converter"
    assert list(tool.args) == ["value", "from_unit", "to_unit"]
    assert tool.args["value"]["type"] == "number"
    assert "KiB" in tool.description and "nmi" in tool.description


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "expected"),
    [
        (5, "km", "mi", "5 km = 3.106855961 mi"),
        (1, "mi", "km", "1 mi = 1.609344 km"),
        (1, "ft", "in", "1 ft = 12 in"),
        (1, "yd", "ft", "1 yd = 3 ft"),
        (25.4, "mm", "in", "25.4 mm = 1 in"),
        (250, "cm", "m", "250 cm = 2.5 m"),
        (1, "nmi", "m", "1 nmi = 1852 m"),
        (2.5, "kg", "g", "2.5 kg = 2500 g"),
        (1, "lb", "oz", "1 lb = 16 oz"),
        (1, "st", "lb", "1 st = 14 lb"),
        (1, "t", "kg", "1 t = 1000 kg"),
        (500, "mg", "g", "500 mg = 0.5 g"),
        (100, "C", "F", "100 °C = 212 °F"),
        (32, "F", "C", "32 °F = 0 °C"),
        (-40, "C", "F", "-40 °C = -40 °F"),
        (0, "K", "C", "0 K = -273.15 °C"),
        (300, "K", "F", "300 K = 80.33 °F"),
        (8, "bit", "B", "8 bit = 1 B"),
        (1, "KB", "B", "1 KB = 1000 B"),
        (1, "KiB", "B", "1 KiB = 1024 B"),
        (1, "GiB", "MiB", "1 GiB = 1024 MiB"),
        (1, "TB", "GB", "1 TB = 1000 GB"),
        (1, "TiB", "B", "1 TiB = 1099511627776 B"),
        (1, "GB", "GiB", "1 GB = 0.9313225746 GiB"),
    ],
)
def test_converts_within_a_category(convert, value: float, from_unit: str, to_unit: str, expected: str) -> None:
    assert convert(value, from_unit, to_unit) == expected


@pytest.mark.parametrize(
    ("from_unit", "to_unit", "expected"),
    [
        ("meters", "metre", "1 m = 1 m"),
        ("Miles", "KILOMETERS", "1 mi = 1.609344 km"),
        ("feet", "inches", "1 ft = 12 in"),
        ("pounds", "Kilograms", "1 lb = 0.45359237 kg"),
        ("°C", "kelvin", "1 °C = 274.15 K"),
        ("degrees Celsius", "Fahrenheit", "1 °C = 33.8 °F"),
        ("fahrenheit", "°c", "1 °F = -17.22222222 °C"),
        ("gigabytes", "megabytes", "1 GB = 1000 MB"),
        ("mib", "kib", "1 MiB = 1024 KiB"),
        ("nautical miles", "km", "1 nmi = 1.852 km"),
    ],
)
def test_accepts_names_in_any_case(convert, from_unit: str, to_unit: str, expected: str) -> None:
    assert convert(1, from_unit, to_unit) == expected


def test_lowercase_b_is_a_bit_and_uppercase_b_a_byte(convert) -> None:
    assert convert(16, "b", "B") == "16 bit = 2 B"


def test_accepts_a_numeric_string_value(convert) -> None:
    assert convert("5", "km", "m") == "5 km = 5000 m"


@pytest.mark.parametrize(
    ("from_unit", "to_unit", "message"),
    [
        ("km", "kg", "Cannot convert km (length) to kg (mass)"),
        ("C", "m", "Cannot convert °C (temperature) to m (length)"),
        ("GB", "lb", "Cannot convert GB (data size) to lb (mass)"),
    ],
)
def test_refuses_to_convert_across_categories(convert, from_unit: str, to_unit: str, message: str) -> None:
    with pytest.raises(ToolException, match=re.escape(message)):
        convert(1, from_unit, to_unit)


def test_unknown_unit_lists_the_supported_ones(convert) -> None:
    with pytest.raises(ToolException, match="Unknown unit 'furlong'. Supported: length: mm, cm"):
        convert(1, "furlong", "m")


def test_refuses_temperatures_below_absolute_zero_and_non_finite_values(convert) -> None:
    with pytest.raises(ToolException, match="below absolute zero"):
        convert(-300, "C", "K")
    with pytest.raises(ToolException, match="finite"):
        convert(float("inf"), "m", "km")
