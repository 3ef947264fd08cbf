"""calculator: arithmetic through the LangChain tool interface, and every refusal."""

import re
from types import ModuleType

import pytest
from langchain_core.tools import BaseTool, ToolException


@pytest.fixture
def calculator(load_tool_module) -> BaseTool:
    module: ModuleType = load_tool_module("calculator")
    return module.calculator


def test_is_a_described_tool_with_one_string_argument(calculator: BaseTool) -> None:
    assert calculator.name == "calculator"
    assert calculator.args == {"expression": {"title": "Expression", "type": "string"}}
    assert "sqrt" in calculator.description and "^" in calculator.description


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2 + 2", "4"),
        ("7 - 10", "-3"),
        ("6 * 7", "42"),
        ("10 / 4", "2.5"),
        ("10 / 2", "5"),  # a whole float reads as an int
        ("7 // 2", "3"),
        ("7 % 3", "1"),
        ("2 ** 10", "1024"),
        ("2^10", "1024"),  # ^ is power, not XOR
        ("2 ^ 0.5", "1.41421356237"),
        ("-(3 + 4) * +2", "-14"),
        ("0.1 + 0.2", "0.3"),  # trimmed to 12 significant digits
        ("2 ** 100", "1267650600228229401496703205376"),  # ints stay exact
        ("sqrt(16)", "4"),
        ("sqrt(2) * (3 + 4)^2", "69.2964645563"),
        ("pi", "3.14159265359"),
        ("e", "2.71828182846"),
        ("tau / 2", "3.14159265359"),
        ("sin(pi / 2)", "1"),
        ("cos(0) + tan(0)", "1"),
        ("degrees(atan2(1, 1))", "45"),
        ("degrees(asin(1)) + degrees(acos(1)) + atan(0)", "90"),
        ("radians(180)", "3.14159265359"),
        ("log(e)", "1"),
        ("log(8, 2)", "3"),
        ("ln(1)", "0"),
        ("log10(1000)", "3"),
        ("log2(1024)", "10"),
        ("exp(0)", "1"),
        ("abs(-5)", "5"),
        ("round(2.567, 2)", "2.57"),
        ("round(2.5)", "2"),
        ("floor(-2.5)", "-3"),
        ("ceil(2.1)", "3"),
        ("factorial(20)", "2432902008176640000"),
        ("hypot(3, 4)", "5"),
        ("min(3, 1, 2)", "1"),
        ("max(3, 1, 2)", "3"),
        ("pow(2, 8)", "256"),
        ("1e3 * 2", "2000"),
        ("2 * inf", "inf"),
        ("1 / 3", "0.333333333333"),
        ("2 + 2 =", "4"),
        ("SQRT(9)", "3"),
    ],
)
def test_evaluates(calculator: BaseTool, expression: str, expected: str) -> None:
    assert calculator.invoke({"expression": expression}) == expected


def test_accepts_a_plain_string_input(calculator: BaseTool) -> None:
    assert calculator.invoke("3 * (2 + 1)") == "9"


def test_understands_full_width_and_typographic_operators(calculator: BaseTool) -> None:
    assert calculator.invoke("（１＋２）×３÷４") == "2.25"
    assert calculator.invoke("5 − 2") == "3"
    assert calculator.invoke("3²") == "9"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('ls')", "Only calls of the listed functions"),
        ("__import__('os')", "Unknown function '__import__'"),
        ("().__class__", "Unsupported syntax (Attribute)"),
        ("().__class__.__bases__[0].__subclasses__()", "Only calls of the listed functions"),
        ("(1).real", "Unsupported syntax (Attribute)"),
        ("[1, 2][0]", "Unsupported syntax (Subscript)"),
        ("lambda: 1", "Unsupported syntax (Lambda)"),
        ("[x for x in (1, 2)]", "Unsupported syntax (ListComp)"),
        ("(x := 1)", "Unsupported syntax (NamedExpr)"),
        ("1 if 1 else 2", "Unsupported syntax (IfExp)"),
        ("1 < 2", "Unsupported syntax (Compare)"),
        ("1 & 3", "Unsupported syntax"),
        ("'a' * 3", "only numbers"),
        ("True + 1", "only numbers"),
        ("1j * 1j", "only numbers"),
        ("os", "Unknown name 'os'"),
        ("eval('1')", "Unknown function 'eval'"),
        ("round(2.5, ndigits=1)", "positional arguments only"),
        ("max(*[1, 2])", "positional arguments only"),
        ("sqrt(1, 2)", "sqrt() takes 1 argument(s), got 2"),
        ("log(1, 2, 3)", "log() takes 1 or 2 argument(s)"),
        ("min()", "min() takes at least 1 argument(s)"),
        ("1; 2", "Could not parse"),
        ("2 +", "Could not parse"),
        ("", "Empty expression"),
    ],
)
def test_refuses_anything_but_arithmetic(calculator: BaseTool, expression: str, message: str) -> None:
    with pytest.raises(ToolException, match=re.escape(message)):
        calculator.invoke(expression)


@pytest.mark.parametrize(
    "expression",
    ["9**9**9", "10 ** 5000", "2 ^ 100000", "pow(7, 10 ** 6)", "factorial(1000) * factorial(1000)", "exp(1000)"],
)
def test_refuses_gigantic_results_quickly(calculator: BaseTool, expression: str) -> None:
    with pytest.raises(ToolException, match="too large"):
        calculator.invoke(expression)


def test_limits_factorial_and_expression_length(calculator: BaseTool) -> None:
    with pytest.raises(ToolException, match="n <= 1000"):
        calculator.invoke("factorial(1001)")
    with pytest.raises(ToolException, match="non-negative integer"):
        calculator.invoke("factorial(2.5)")
    with pytest.raises(ToolException, match="too long"):
        calculator.invoke("1+" * 300 + "1")
    assert calculator.invoke("1+" * 249 + "1") == "250"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1 / 0", "Division by zero"),
        ("5 // 0", "Division by zero"),
        ("5 % 0", "Division by zero"),
        ("sqrt(-1)", "Math error"),
        ("log(0)", "Math error"),
        ("(-8) ** (1 / 3)", "complex number"),
    ],
)
def test_reports_math_errors_clearly(calculator: BaseTool, expression: str, message: str) -> None:
    with pytest.raises(ToolException, match=message):
        calculator.invoke(expression)


@pytest.mark.parametrize("expression", ["round(1, -10**7)", "round(1, 10**7)", "round(2.5, -10**9)", "round(7, 4001)"])
def test_round_to_millions_of_digits_is_refused_before_any_work(calculator: BaseTool, expression: str) -> None:
    # round(1, -10**7) builds 10**(10**7) on the way: 15 s with the process's lock held.
    with pytest.raises(ToolException, match="at most 4000 digits either side of the point"):
        calculator.invoke(expression)


@pytest.mark.parametrize(("expression", "result"), [("round(1234.5678, -2)", "1200"), ("round(2.567, 2.0)", "2.57")])
def test_round_to_a_sensible_number_of_digits_still_works(calculator: BaseTool, expression: str, result: str) -> None:
    assert calculator.invoke(expression) == result
