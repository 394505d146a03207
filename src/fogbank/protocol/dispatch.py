"""The @operation registry: which provider method answers which (service, operation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fogbank.context import RequestContext

Handler = Callable[[RequestContext, dict[str, Any]], dict[str, Any]]
F = TypeVar("F", bound=Callable[..., Any])

_OPERATION_ATTR = "__fogbank_operation__"


def operation(name: str) -> Callable[[F], F]:
    """Marks a provider method as the implementation of the named AWS operation."""

    def mark(func: F) -> F:
        setattr(func, _OPERATION_ATTR, name)
        return func

    return mark


def operations_of(provider: object) -> dict[str, Handler]:
    """The bound handlers of a provider instance, by operation name."""
    found: dict[str, Handler] = {}
    for klass in reversed(type(provider).__mro__):
        for attr, value in vars(klass).items():
            name = getattr(value, _OPERATION_ATTR, None)
            if name:
                found[name] = getattr(provider, attr)
    return found


class Provider:
    """Base class for service providers: lifecycle hooks with no-op defaults."""

    #: The botocore service model names this provider answers (e.g. ("s3",) or ("kinesis",)).
    services: tuple[str, ...] = ()

    def close(self) -> None:
        """Releases stores and engines; called once at shutdown."""

    def health(self) -> dict[str, Any]:
        """What /_fogbank/health reports for this service."""
        return {"state": "running"}

    def decorate_response(self, ctx: RequestContext, request: dict[str, Any] | None,
                          headers: list[tuple[str, str]]) -> None:
        """Adds headers to every response of this service (S3 uses it for CORS)."""
