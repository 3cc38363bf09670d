"""`--until` and `--fail-if`: JMESPath conditions over an operation's body as the API sent it.

Compiled once, at the edge: a bad expression (syntax, unknown function, wrong number of
arguments) is a usage error before any request. Evaluated at every poll, on the main thread,
before the provider's own status (bulkop.verdict). jmespath is imported only when a condition
is given, so commands without one start as fast as before.

The order is `--until`, `--fail-if`, then the provider's status, at every poll: the first
that says "ended" decides. So an operation the provider reports failed passes when `--until`
is true on that body, at the first poll too (the user said what done means, and it is checked
first), and every view then says both (bulkop.verdict.of_condition);
and when neither condition is ever true, a finished operation ends the watch by its status
as it always did (nothing else would change any more, so waiting on would only time out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bulkop.errors import UsageError
from bulkop.models import BulkOperation

UNTIL = "until"
FAIL_IF = "fail-if"
EXAMPLE = "--until 'processed_rows >= `5000`'"


@dataclass(frozen=True, slots=True)
class Condition:
    """One compiled expression and the option it came from (`until` or `fail-if`)."""

    option: str
    source: str
    compiled: Any = field(compare=False, repr=False)

    @property
    def flag(self) -> str:
        return f"--{self.option}"

    @property
    def shown(self) -> str:
        """The expression quoted for a message, cut when it is long."""
        return _shown(self.source)

    def describe(self) -> str:
        """What every view says ended the operation: `until: processed_rows >= `5000``."""
        return f"{self.option}: {self.source}"

    def to_json(self) -> dict[str, str]:
        return {"option": self.flag, "expression": self.source}

    def holds(self, body: Any) -> bool:
        """JMESPath truthiness of the result. Raises what the evaluation raised, and
        NotData when the result is not JSON data (never truthy by accident)."""
        result = self.compiled.search(body)
        if type(result) not in _SCALARS and (what := _not_data(result)) is not None:
            raise NotData(f"the result is {what}, not a value")
        return truthy(result)


class NotData(TypeError):
    """A condition's result that is not JSON data: an evaluation error, never a truth."""


_SCALARS = (str, int, float, bool, type(None))


def truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, "", [] and {} are false; everything else (0 too) is true."""
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, dict)):
        return len(value) > 0
    return True


@dataclass
class Conditions:
    """The conditions of one command, checked in order: `--until`, then `--fail-if`.

    An expression that cannot be evaluated on a body (a function given the wrong type, an
    ordering of a string against a number) is not true there: the poll goes on and the
    provider's status decides. It is said once per option (`warn`), not at every poll.
    """

    until: Condition | None = None
    fail_if: Condition | None = None
    warn: Callable[[str], None] | None = None
    _warned: set[str] = field(default_factory=set)

    def first_true(self, op: BulkOperation) -> Condition | None:
        for condition in (self.until, self.fail_if):
            if condition is not None and self._holds(condition, op):
                return condition
        return None

    def _holds(self, condition: Condition, op: BulkOperation) -> bool:
        try:
            return condition.holds(op.raw)
        # Anything: the expression meets a body it was not written for (jmespath raises its own
        # errors, and also TypeError, OverflowError, RecursionError on some bodies). A condition
        # that cannot be evaluated is not true; it never costs the watch.
        except Exception as e:
            if condition.option not in self._warned and self.warn is not None:
                self._warned.add(condition.option)
                detail = " ".join(str(e).split())[:200] or type(e).__name__
                self.warn(
                    f"{condition.flag} {condition.shown} could not be evaluated on operation {op.id}: "
                    f"{detail}; taken as false (said once)"
                )
            return False


def parse(until: str | None, fail_if: str | None) -> Conditions | None:
    """The conditions given on the command line, compiled; None when there are none."""
    if until is None and fail_if is None:
        return None
    return Conditions(
        until=compile_condition(UNTIL, until) if until is not None else None,
        fail_if=compile_condition(FAIL_IF, fail_if) if fail_if is not None else None,
    )


def compile_condition(option: str, source: str) -> Condition:
    """Compile and check an expression, or raise UsageError naming the option and the fault."""
    flag = f"--{option}"
    if not source.strip():
        raise UsageError(f"{flag}: the expression is empty", hint=f"e.g. {EXAMPLE}")
    import jmespath  # only here: a command without a condition never pays for it
    from jmespath.exceptions import JMESPathError

    shown = _shown(source)
    try:
        compiled = jmespath.compile(source)
    except JMESPathError as e:
        raise UsageError(f"{flag} {shown} is not a valid JMESPath expression: {_syntax(e)}", hint=_hint(e)) from None
    except (RecursionError, ValueError, TypeError) as e:  # absurd nesting, or a bad JSON literal
        raise UsageError(f"{flag} {shown} is not a valid JMESPath expression: {type(e).__name__}") from None
    problem = check_expression(compiled, f"{flag} {shown}")
    if problem:
        raise UsageError(problem, hint="see https://jmespath.org/specification.html#functions")
    return Condition(option, source, compiled)


def _shown(source: str) -> str:
    return repr(source if len(source) <= 120 else source[:117] + "...")


def _syntax(e: Exception) -> str:
    from jmespath.exceptions import IncompleteExpressionError, LexerError, ParseError

    if isinstance(e, IncompleteExpressionError):
        return "it ends too early"
    if isinstance(e, LexerError):
        what = " ".join(str(getattr(e, "message", "") or "unexpected character").split())
        return f"{what} at column {int(getattr(e, 'lex_position', 0)) + 1}"
    if isinstance(e, ParseError):
        token = e.token_value
        return f"unexpected {token!r} at column {int(e.lex_position) + 1}"
    return " ".join(str(e).split())[:160]


def _hint(e: Exception) -> str:
    from jmespath.exceptions import ParseError

    if isinstance(e, ParseError) and e.token_type == "NUMBER":
        return f"a number is a JSON literal in backticks, e.g. {EXAMPLE}"
    return f"e.g. {EXAMPLE}; quote the expression for the shell"


def check_expression(compiled: Any, where: str) -> str | None:
    """The fault jmespath would only find at evaluation, as one sentence starting with `where`
    (e.g. `--until 'a'` or a provider field's key), or None when the expression is sound.

    `compiled` is what `jmespath.compile` returned (or its `.parsed` tree). Checked: unknown
    functions, wrong numbers of arguments, and expression references: `&field` is allowed
    only as an argument a function declares as one (sort_by, max_by, min_by, map); anywhere
    else (`&a`, `[&a]`, `{k: &a}`, `not_null(&a)`, `a | &b`) its value would be a reference,
    not data, and never a meaningful answer.
    """
    problem = _static_problem(getattr(compiled, "parsed", compiled))
    return f"{where}: {problem}" if problem else None


def _static_problem(tree: Any) -> str | None:
    """What jmespath would only find at the first poll: an unknown function, a wrong number of
    arguments, an expression reference (&field) where a value belongs or the other way round."""
    from jmespath.functions import Functions

    table: dict[str, Any] = getattr(Functions, "FUNCTION_TABLE", {})
    # Each node with whether an expression reference is allowed there: only as the argument
    # of a function whose parameter takes one. Its own body is an ordinary expression again.
    stack: list[tuple[Any, bool]] = [(tree, False)]
    while stack:
        node, ref_allowed = stack.pop()
        if not isinstance(node, dict):
            continue  # a slice's bounds are plain numbers
        kind = node.get("type")
        children = node.get("children") or ()
        if kind == "expref" and not ref_allowed:
            takers = ", ".join(sorted(n for n, f in table.items() if any(_takes_ref(p) for p in f["signature"])))
            return f"an expression reference (&...) where a value belongs; & goes only before an argument of {takers}"
        if kind != "function_expression":
            stack.extend((child, False) for child in children)
            continue
        name, args = node.get("value"), list(children)
        spec = table.get(str(name))
        if spec is None:
            known = ", ".join(sorted(table))
            return f"unknown function {name}(); JMESPath has {known}"
        signature = spec["signature"]
        variadic = bool(signature) and bool(signature[-1].get("variadic"))
        wanted = f"{'at least ' if variadic else ''}{len(signature)}"
        if (len(args) < len(signature)) if variadic else (len(args) != len(signature)):
            return f"{name}() takes {wanted} argument{'s' if len(signature) != 1 else ''}, not {len(args)}"
        for i, arg in enumerate(args, 1):
            # A variadic function's extra arguments take its last parameter's types.
            param = signature[min(i, len(signature)) - 1]
            types = param.get("types") or []
            is_ref = isinstance(arg, dict) and arg.get("type") == "expref"
            if "expref" in types and not is_ref:
                return f"argument {i} of {name}() must be an expression reference, e.g. &field"
            if is_ref and "expref" not in types:
                return f"argument {i} of {name}() must be a value, not an expression reference (&...)"
            stack.append((arg, is_ref))
    return None


def _takes_ref(param: Any) -> bool:
    return "expref" in (param.get("types") or ())


_DATA_TYPES = (dict, list, str, int, float, bool, type(None))


def _not_data(value: Any) -> str | None:
    """What in a result is not JSON data (jmespath's value of `&a` is a reference object), or
    None. Walks containers without recursion; a result is usually a scalar, so this is cheap."""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind not in _DATA_TYPES:
            return "an expression reference (&...)" if kind.__name__ == "_Expression" else f"a {kind.__name__}"
        if kind is dict:
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
    return None
