"""The request and response values that flow between the ASGI app and the handlers.

Handlers never see ASGI: they get a :class:`Request` (the resolved target, the user,
the query, the raw body) and return a :class:`Response` whose body is usually bytes taken
straight from the store, so an object is not re-encoded on its way out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from kctl.server.auth import UserInfo
from kctl.server.content import Accept
from kctl.server.routing import Target

JSON = "application/json"


@dataclass
class Request:
    target: Target
    user: UserInfo
    query: dict[str, str]
    body: bytes
    content_type: str | None
    accept: Accept
    user_agent: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def dry_run(self) -> bool:
        value = self.query.get("dryRun", "")
        return bool(value) and value != "None"

    def field_manager(self, default: str | None = None) -> str:
        manager = self.query.get("fieldManager")
        if manager:
            return manager
        if default:
            return default
        # kube-apiserver derives the manager from the user agent's program name.
        agent = self.user_agent.split("/", 1)[0].strip()
        return agent or "unknown"


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = JSON
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, value: Any) -> Response:
        return cls(status, orjson.dumps(value))
