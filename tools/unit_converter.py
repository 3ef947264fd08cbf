"""unit_converter: convert lengths, masses, temperatures and data sizes."""

import math

from langchain_core.tools import ToolException, tool

# Each unit: symbol -> (category, size in the category's base unit, aliases).
# Bases: metre, gram, bit. Temperatures are not linear and are handled apart.
_LINEAR_UNITS: dict[str, tuple[str, float, tuple[str, ...]]] = {
    "mm": ("length", 0.001, ("millimeter", "millimeters", "millimetre", "millimetres")),
    "cm": ("length", 0.01, ("centimeter", "centimeters", "centimetre", "centimetres")),
    "m": ("length", 1.0, ("meter", "meters", "metre", "metres")),
    "km": ("length", 1000.0, ("kilometer", "kilometers", "kilometre", "kilometres")),
    "in": ("length", 0.0254, ("inch", "inches", '"')),
    "ft": ("length", 0.3048, ("foot", "feet", "'")),
    "yd": ("length", 0.9144, ("yard", "yards")),
    "mi": ("length", 1609.344, ("mile", "miles")),
    "nmi": ("length", 1852.0, ("nautical mile", "nautical miles")),
    "mg": ("mass", 0.001, ("milligram", "milligrams")),
    "g": ("mass", 1.0, ("gram", "grams")),
    "kg": ("mass", 1000.0, ("kilogram", "kilograms", "kilo", "kilos")),
    "t": ("mass", 1e6, ("tonne", "tonnes", "metric ton", "metric tons")),
    "oz": ("mass", 28.349523125, ("ounce", "ounces")),
    "lb": ("mass", 453.59237, ("lbs", "pound", "pounds")),
    "st": ("mass", 6350.29318, ("stone", "stones")),
    "bit": ("data size", 1.0, ("bits",)),
    "B": ("data size", 8.0, ("byte", "bytes")),
    "KB": ("data size", 8e3, ("kilobyte", "kilobytes")),
    "MB": ("data size", 8e6, ("megabyte", "megabytes")),
    "GB": ("data size", 8e9, ("gigabyte", "gigabytes")),
    "TB": ("data size", 8e12, ("terabyte", "terabytes")),
    "KiB": ("data size", 8.0 * 2**10, ("kibibyte", "kibibytes")),
    "MiB": ("data size", 8.0 * 2**20, ("mebibyte", "mebibytes")),
    "GiB": ("data size", 8.0 * 2**30, ("gibibyte", "gibibytes")),
    "TiB": ("data size", 8.0 * 2**40, ("tebibyte", "tebibytes")),
}

# Temperatures as (scale, offset) into kelvin: K = value * scale + offset.
_TEMPERATURES: dict[str, tuple[float, float, tuple[str, ...]]] = {
    "°C": (1.0, 273.15, ("c", "celsius", "centigrade")),
    "°F": (5 / 9, 273.15 - 32 * 5 / 9, ("f", "fahrenheit")),
    "K": (1.0, 0.0, ("k", "kelvin", "kelvins")),
}

_CATEGORY = {symbol: category for symbol, (category, _, _) in _LINEAR_UNITS.items()}
_CATEGORY.update({symbol: "temperature" for symbol in _TEMPERATURES})


def _build_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for symbol, (_, _, names) in [*_LINEAR_UNITS.items(), *_TEMPERATURES.items()]:
        for name in (symbol, *names):
            aliases[name.lower()] = symbol
    return aliases


_ALIASES = _build_aliases()


def _supported() -> str:
    by_category: dict[str, list[str]] = {}
    for symbol, category in _CATEGORY.items():
        by_category.setdefault(category, []).append(symbol)
    return "; ".join(f"{category}: {', '.join(symbols)}" for category, symbols in by_category.items())


def _resolve(unit: str) -> str:
    """The symbol for `unit`, matched case-insensitively against symbols and names."""
    # "b" vs "B" is the one place where case carries meaning (bit vs byte).
    if unit.strip() in ("b", "B"):
        return "bit" if unit.strip() == "b" else "B"
    name = " ".join(unit.lower().replace("_", " ").split())
    for prefix in ("degrees ", "degree ", "deg "):
        name = name.removeprefix(prefix)
    name = name.lstrip("°º")
    if name not in _ALIASES:
        raise ToolException(f"Unknown unit {unit[:40]!r}. Supported: {_supported()}.")
    return _ALIASES[name]


def _to_kelvin(value: float, symbol: str) -> float:
    scale, offset, _ = _TEMPERATURES[symbol]
    return value * scale + offset


def _from_kelvin(kelvin: float, symbol: str) -> float:
    scale, offset, _ = _TEMPERATURES[symbol]
    return (kelvin - offset) / scale


def _format(value: float) -> str:
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # exact, e.g. 1 TiB = 1099511627776 B
    # 10 significant digits keep exact factors (1 mi = 1.609344 km) while
    # hiding float noise such as 12.000000000000002.
    return format(value, ".10g")


@tool
def unit_converter(value: float, from_unit: str, to_unit: str) -> str:
    """Convert a value from one unit to another of the same kind.

    Units (symbols or names, any case): length mm, cm, m, km, in, ft, yd, mi,
    nmi; mass mg, g, kg, t, oz, lb, st; temperature C, F, K; data size bit,
    B, KB, MB, GB, TB (powers of 1000) and KiB, MiB, GiB, TiB (powers of 1024).
    Example: value=5, from_unit="km", to_unit="mi".
    """
    if not math.isfinite(value):
        raise ToolException("The value must be a finite number.")
    source, target = _resolve(from_unit), _resolve(to_unit)
    if _CATEGORY[source] != _CATEGORY[target]:
        raise ToolException(f"Cannot convert {source} ({_CATEGORY[source]}) to {target} ({_CATEGORY[target]}).")
    if _CATEGORY[source] == "temperature":
        kelvin = _to_kelvin(value, source)
        if kelvin < 0:
            raise ToolException(f"{_format(value)} {source} is below absolute zero.")
        result = _from_kelvin(kelvin, target)
    else:
        result = value * _LINEAR_UNITS[source][1] / _LINEAR_UNITS[target][1]
    return f"{_format(value)} {source} = {_format(result)} {target}"
