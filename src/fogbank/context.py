"""Per-request facts every provider may need, resolved once by the protocol layer."""

from __future__ import annotations

from dataclasses import dataclass, field

from fogbank.protocol.http import HttpRequest


@dataclass
class RequestContext:
    account_id: str
    region: str
    request_id: str
    service: str
    operation: str
    http: HttpRequest
    access_key: str = ""
    # What a provider may set to shape the HTTP response beyond the output shape.
    status_override: int | None = None
    extra_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def scope(self) -> tuple[str, str]:
        """The (account, region) pair that all AWS state is partitioned by."""
        return (self.account_id, self.region)
