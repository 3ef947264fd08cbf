"""calculator: evaluate one arithmetic expression without ever calling eval().

The expression is parsed with `ast` and walked node by node; only numbers,
arithmetic operators, a few constants and allow-listed math functions are
understood, so text from a model can never reach Python's own evaluator.

`^` means power (2^10 = 1024): models and people write it that way far more
often than they mean bitwise XOR, which this calculator does not offer.
"""

import ast
import math
import operator
import unicodedata
from collections.abc import Callable

from langchain_core.tools import ToolException, tool

# Each call runs in the tool worker process, under CPU-time and memory limits, killed at the
# tool timeout (agent_service.agents.isolated): an expression that slips past the bounds
# below costs its caller, not the service.
isolated = True

_MAX_LENGTH = 500
# Python refuses to print ints longer than 4300 digits by default; staying
# below that keeps every result printable and every step cheap.
_MAX_DIGITS = 4000
_MAX_BITS = int(_MAX_DIGITS * math.log2(10))
_MAX_FACTORIAL = 1000

Number = int | float

_CONSTANTS: dict[str, Number] = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}

# Characters models and IMEs produce that mean plain ASCII operators.
# Full-width digits, brackets and +-*/ are handled by NFKC normalisation,
# which would also turn "3²" into "32": superscripts are translated first.
_SUPERSCRIPTS = str.maketrans({"²": "**2", "³": "**3"})
_LOOKALIKES = str.maketrans({"×": "*", "÷": "/", "−": "-", "–": "-", "·": "*", "^": "**"})


def _power(base: Number, exponent: Number) -> Number:
    # Estimate the size of an integer power before computing it: 9**9**9
    # would otherwise take minutes and gigabytes.
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * math.log10(abs(base)) > _MAX_DIGITS:
            raise ToolException(f"Result too large (more than {_MAX_DIGITS} digits).")
    return base**exponent


def _factorial(n: Number) -> int:
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not isinstance(n, int) or n < 0:
        raise ToolException("factorial() needs a non-negative integer.")
    if n > _MAX_FACTORIAL:
        raise ToolException(f"factorial() is limited to n <= {_MAX_FACTORIAL}.")
    return math.factorial(n)


def _round(x: Number, ndigits: Number | None = None) -> Number:
    # round(1, -10**7) builds 10**(10**7) on the way: minutes of CPU for a zero.
    if ndigits is not None:
        if isinstance(ndigits, float) and ndigits.is_integer():
            ndigits = int(ndigits)
        if not isinstance(ndigits, int):
            raise ToolException("round(): the number of digits must be an integer.")
        if abs(ndigits) > _MAX_DIGITS:
            raise ToolException(f"round(): at most {_MAX_DIGITS} digits either side of the point.")
    return round(x, ndigits) if ndigits is not None else round(x)


def _log(x: Number, base: Number | None = None) -> float:
    return math.log(x) if base is None else math.log(x, base)


# name -> (function, min args, max args); None means any number of args.
_FUNCTIONS: dict[str, tuple[Callable[..., Number], int, int | None]] = {
    "sqrt": (math.sqrt, 1, 1),
    "sin": (math.sin, 1, 1),
    "cos": (math.cos, 1, 1),
    "tan": (math.tan, 1, 1),
    "asin": (math.asin, 1, 1),
    "acos": (math.acos, 1, 1),
    "atan": (math.atan, 1, 1),
    "atan2": (math.atan2, 2, 2),
    "log": (_log, 1, 2),
    "ln": (math.log, 1, 1),
    "log10": (math.log10, 1, 1),
    "log2": (math.log2, 1, 1),
    "exp": (math.exp, 1, 1),
    "abs": (abs, 1, 1),
    "round": (_round, 1, 2),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "factorial": (_factorial, 1, 1),
    "hypot": (math.hypot, 1, None),
    "degrees": (math.degrees, 1, 1),
    "radians": (math.radians, 1, 1),
    "min": (lambda *args: min(args), 1, None),
    "max": (lambda *args: max(args), 1, None),
    "pow": (_power, 2, 2),
}

_BINARY_OPERATORS: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}

_UNARY_OPERATORS: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def _evaluate(node: ast.AST) -> Number:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant):
        # bool is an int subclass and complex is a number: neither belongs here.
        if type(node.value) in (int, float):
            return node.value
        raise ToolException(f"Unsupported value {node.value!r}: only numbers are allowed.")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPERATORS:
        return _checked(_BINARY_OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY_OPERATORS:
        return _UNARY_OPERATORS[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Name):
        if node.id.lower() in _CONSTANTS:
            return _CONSTANTS[node.id.lower()]
        raise ToolException(f"Unknown name {node.id!r}. Constants: {', '.join(_CONSTANTS)}.")
    if isinstance(node, ast.Call):
        return _call(node)
    raise ToolException(
        f"Unsupported syntax ({type(node).__name__}): use numbers, + - * / // % ^ and the listed functions."
    )


def _call(node: ast.Call) -> Number:
    if not isinstance(node.func, ast.Name):
        raise ToolException("Only calls of the listed functions are allowed, e.g. sqrt(2).")
    name = node.func.id.lower()
    if name not in _FUNCTIONS:
        raise ToolException(f"Unknown function {node.func.id!r}. Allowed: {', '.join(_FUNCTIONS)}.")
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        raise ToolException(f"{name}() takes plain positional arguments only.")
    function, min_args, max_args = _FUNCTIONS[name]
    if len(node.args) < min_args or (max_args is not None and len(node.args) > max_args):
        if max_args is None:
            expected = f"at least {min_args}"
        else:
            expected = str(min_args) if min_args == max_args else f"{min_args} or {max_args}"
        raise ToolException(f"{name}() takes {expected} argument(s), got {len(node.args)}.")
    args = [_evaluate(arg) for arg in node.args]
    try:
        return _checked(function(*args))
    except TypeError as error:
        raise ToolException(f"{name}(): {error}") from None


def _checked(value: Number) -> Number:
    if isinstance(value, complex):
        raise ToolException("The result is a complex number, which is not supported.")
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise ToolException(f"Result too large (more than {_MAX_DIGITS} digits).")
    return value


def _format(value: Number) -> str:
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".12g")
    return str(value)


@tool
def calculator(expression: str) -> str:
    """Evaluate a math expression and return the result, e.g. "sqrt(2) * (3 + 4)^2".

    Supports numbers, + - * / // % and ^ or ** for power, parentheses, the
    constants pi, e, tau, inf and the functions sqrt, sin, cos, tan, asin,
    acos, atan, atan2, log(x[, base]), ln, log10, log2, exp, abs, round,
    floor, ceil, factorial, hypot, degrees, radians, min, max, pow.
    Angles are in radians. One expression per call, no variables.
    """
    if len(expression) > _MAX_LENGTH:
        raise ToolException(f"Expression too long (max {_MAX_LENGTH} characters).")
    text = unicodedata.normalize("NFKC", expression.translate(_SUPERSCRIPTS)).translate(_LOOKALIKES)
    text = text.strip().rstrip("=").strip()  # "2+2=" is a common way to ask
    if not text:
        raise ToolException("Empty expression: pass something like '2 + 2'.")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError) as error:
        message = getattr(error, "msg", None) or str(error)
        raise ToolException(f"Could not parse the expression: {message}.") from None
    try:
        return _format(_evaluate(tree))
    except ZeroDivisionError:
        raise ToolException("Division by zero.") from None
    except OverflowError:
        raise ToolException("Result too large.") from None
    except ValueError as error:  # math domain errors, e.g. sqrt(-1) or log(0)
        raise ToolException(f"Math error: {error}.") from None
    except RecursionError:
        raise ToolException("Expression nested too deeply.") from None
