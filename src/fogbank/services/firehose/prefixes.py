"""S3 key prefixes: `!{namespace:value}` expressions, the rules AWS checks on them, and their evaluation.

A prefix is parsed when a stream is created or updated, so every error is reported then, and evaluated at
delivery time for each object with the arrival time of the object's oldest record. A prefix with no
expression at all gets the default `yyyy/MM/dd/HH/` time layout appended, as Firehose does.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from fogbank.services.firehose.timefmt import JavaTimeFormat, PatternError

TIMESTAMP = "timestamp"
FIREHOSE = "firehose"
FROM_QUERY = "partitionKeyFromQuery"
FROM_LAMBDA = "partitionKeyFromLambda"
NAMESPACES = (TIMESTAMP, FIREHOSE, FROM_QUERY, FROM_LAMBDA)
RANDOM_STRING = "random-string"
ERROR_OUTPUT_TYPE = "error-output-type"
MAX_EVALUATED = 512

_EXPRESSION = re.compile(r"!\{([^{}:]*):([^{}]*)\}")
DEFAULT_TIME = JavaTimeFormat("yyyy/MM/dd/HH/")


class PrefixError(ValueError):
    """A prefix that breaks one of Firehose's rules; the message is what the client sees."""


@dataclass(frozen=True)
class Expression:
    namespace: str
    value: str
    time_format: JavaTimeFormat | None = None


Part = str | Expression


@dataclass(frozen=True)
class Template:
    """A parsed prefix; `has_expressions` decides whether the default time layout is appended."""

    text: str
    parts: tuple[Part, ...]

    @property
    def has_expressions(self) -> bool:
        return any(isinstance(p, Expression) for p in self.parts)

    def keys(self, namespace: str) -> list[str]:
        return [p.value for p in self.parts if isinstance(p, Expression) and p.namespace == namespace]

    def uses(self, namespace: str, value: str | None = None) -> bool:
        return any(isinstance(p, Expression) and p.namespace == namespace and (value is None or p.value == value)
                   for p in self.parts)


def parse(text: str, field: str) -> Template:
    parts: list[Part] = []
    pos = 0
    for match in _EXPRESSION.finditer(text):
        literal = text[pos:match.start()]
        if "!{" in literal:
            raise PrefixError(f"The {field} '{text}' contains '!{{' outside of an expression of the form "
                              "!{namespace:value}.")
        if literal:
            parts.append(literal)
        parts.append(_expression(match.group(1), match.group(2), text, field))
        pos = match.end()
    rest = text[pos:]
    if "!{" in rest:
        raise PrefixError(f"The {field} '{text}' contains '!{{' outside of an expression of the form "
                          "!{namespace:value}.")
    if rest:
        parts.append(rest)
    return Template(text, tuple(parts))


def _expression(namespace: str, value: str, text: str, field: str) -> Expression:
    if namespace not in NAMESPACES:
        raise PrefixError(f"The expression !{{{namespace}:{value}}} in {field} '{text}' uses an unknown namespace. "
                          f"Supported namespaces: {', '.join(NAMESPACES)}.")
    if namespace == TIMESTAMP:
        try:
            return Expression(namespace, value, JavaTimeFormat(value))
        except PatternError as exc:
            raise PrefixError(f"The timestamp expression !{{timestamp:{value}}} in {field} '{text}' is not a valid "
                              f"DateTimeFormatter pattern: {exc}.") from None
    if namespace == FIREHOSE and value not in (RANDOM_STRING, ERROR_OUTPUT_TYPE):
        raise PrefixError(f"The expression !{{firehose:{value}}} in {field} '{text}' is invalid: the firehose "
                          f"namespace supports {RANDOM_STRING} and {ERROR_OUTPUT_TYPE}.")
    if namespace in (FROM_QUERY, FROM_LAMBDA) and not value:
        raise PrefixError(f"The expression !{{{namespace}:}} in {field} '{text}' names no partition key.")
    return Expression(namespace, value)


@dataclass(frozen=True)
class Prefixes:
    """The checked Prefix and ErrorOutputPrefix of one S3 destination."""

    prefix: Template
    error: Template | None


def check(prefix: str, error_prefix: str | None, dynamic_partitioning: bool, backup: bool = False) -> Prefixes:
    """Parses both prefixes and applies Firehose's rules on them; raises PrefixError.

    A backup destination's ErrorOutputPrefix is ignored, so its Prefix may use expressions without one.
    """
    data = parse(prefix, "Prefix")
    error = parse(error_prefix, "ErrorOutputPrefix") if error_prefix else None
    if data.uses(FIREHOSE, ERROR_OUTPUT_TYPE):
        raise PrefixError("The Prefix cannot contain the expression !{firehose:error-output-type}; it is only "
                          "allowed in ErrorOutputPrefix.")
    if data.has_expressions and error is None and not backup:
        raise PrefixError("ErrorOutputPrefix cannot be null or empty when Prefix contains expressions.")
    if error is not None and error.has_expressions and not error.uses(FIREHOSE, ERROR_OUTPUT_TYPE):
        raise PrefixError("ErrorOutputPrefix must contain at least one instance of !{firehose:error-output-type} "
                          "when it contains expressions.")
    if error is not None and (error.uses(FROM_QUERY) or error.uses(FROM_LAMBDA)):
        raise PrefixError("ErrorOutputPrefix cannot contain partitionKeyFromQuery or partitionKeyFromLambda "
                          "expressions.")
    partitioned = data.uses(FROM_QUERY) or data.uses(FROM_LAMBDA)
    if partitioned and not dynamic_partitioning:
        raise PrefixError("The Prefix uses partitionKeyFromQuery or partitionKeyFromLambda expressions, which "
                          "require dynamic partitioning to be enabled.")
    if dynamic_partitioning and not partitioned:
        raise PrefixError("When dynamic partitioning is enabled, the Prefix must contain at least one "
                          "partitionKeyFromQuery or partitionKeyFromLambda expression.")
    return Prefixes(data, error)


@dataclass(frozen=True)
class Values:
    """What one object's key is evaluated with."""

    when: datetime
    query_keys: dict[str, str]
    lambda_keys: dict[str, str]
    random: Callable[[], str]
    error_type: str | None = None


class MissingKey(LookupError):
    """A partition key the prefix names was not produced for a record."""


def render(template: Template, values: Values, default_time: bool = True) -> str:
    """The evaluated prefix; without expressions, the default time layout follows the literal text."""
    out: list[str] = []
    for part in template.parts:
        if isinstance(part, str):
            out.append(part)
        elif part.namespace == TIMESTAMP:
            assert part.time_format is not None
            out.append(part.time_format.format(values.when))
        elif part.namespace == FIREHOSE:
            out.append(values.random() if part.value == RANDOM_STRING else (values.error_type or ""))
        else:
            keys = values.query_keys if part.namespace == FROM_QUERY else values.lambda_keys
            if part.value not in keys:
                raise MissingKey(part.value)
            out.append(keys[part.value])
    if default_time and not template.has_expressions:
        out.append(DEFAULT_TIME.format(values.when))
    return "".join(out)


def render_error(prefixes: Prefixes, values: Values) -> str:
    """Where failed records go: ErrorOutputPrefix, or `<Prefix><error-output-type>/yyyy/MM/dd/HH/` without one."""
    if prefixes.error is not None and prefixes.error.has_expressions:
        return render(prefixes.error, values)
    base = prefixes.error.text if prefixes.error is not None else prefixes.prefix.text
    return f"{base}{values.error_type}/{DEFAULT_TIME.format(values.when)}"
