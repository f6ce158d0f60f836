"""Bearer tokens: issued by the server, stored only as hashes.

A token is 32 random bytes (urlsafe base64). The store keeps ``sha256(token)`` as the
object's name and the identity it stands for, never the token itself: the plain token
exists only in the response that issued it and in the kubeconfig written from it, so a
copy of the database does not hand out credentials. Being a high-entropy random value,
a token needs no salt or slow hash; lookup is one dict access by hash.

Tokens live in the ordinary store (resource ``tokens.kctl.io``), so several API servers
sharing one database accept each other's tokens. A small in-memory cache of hashes
keeps authentication off the store's path for known tokens; a miss falls through to
``store.get`` (itself served from the store's memory). Tokens are not revocable yet:
there is no delete path, so a cached identity cannot become stale.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Protocol

from kctl.api.errors import BadRequest, Forbidden
from kctl.server.auth import MASTERS_GROUP, RequestAttributes, UserInfo, forbidden
from kctl.store import Entry, Key, KeyExists

TOKEN_RESOURCE = "tokens.kctl.io"
TOKENS_PATH = "/kctl/v1/tokens"  # the admin-only endpoint served by handle_token_request
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 512  # longer headers are rejected without hashing them


class TokenStore(Protocol):
    """The part of the store contract the registry uses."""

    def get(self, key: Key) -> Entry | None: ...

    async def create(self, key: Key, obj: dict[str, Any]) -> Any: ...


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRegistry:
    """Issues tokens and maps presented tokens back to the identity they were issued for."""

    def __init__(self, store: TokenStore) -> None:
        self._store = store
        self._cache: dict[str, UserInfo] = {}

    async def issue(self, user: str, groups: list[str]) -> str:
        """Create a token for ``user``/``groups``; the plain token is returned only here."""
        _check_identity(user, groups)
        for _ in range(3):  # a collision of 256 random bits will not happen; be tidy anyway
            token = secrets.token_urlsafe(TOKEN_BYTES)
            digest = hash_token(token)
            obj = {
                "apiVersion": "kctl.io/v1",
                "kind": "Token",
                "metadata": {"name": digest},
                "user": user,
                "groups": list(groups),
            }
            try:
                await self._store.create(Key(TOKEN_RESOURCE, "", digest), obj)
            except KeyExists:
                continue
            self._cache[digest] = UserInfo(user, tuple(groups))
            return token
        raise RuntimeError("could not allocate a unique token")

    def lookup(self, token: str) -> UserInfo | None:
        """The identity of ``token``, or None if it was never issued."""
        if not token or len(token) > MAX_TOKEN_LENGTH:
            return None
        digest = hash_token(token)
        user = self._cache.get(digest)
        if user is not None:
            return user
        entry = self._store.get(Key(TOKEN_RESOURCE, "", digest))
        if entry is None:
            return None
        obj = entry.object()
        name, groups = obj.get("user"), obj.get("groups") or []
        if not isinstance(name, str) or not name:
            return None
        user = UserInfo(name, tuple(str(g) for g in groups))
        self._cache[digest] = user
        return user


async def handle_token_request(
    user: UserInfo, body: dict[str, Any], tokens: TokenRegistry
) -> dict[str, Any]:
    """``POST /kctl/v1/tokens`` ``{"user": .., "groups": [..]}`` -> ``{"token": ..}`` (201).

    Only cluster admins (``system:masters``) may mint credentials."""
    if not user.in_group(MASTERS_GROUP):
        raise _forbidden(user)
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    name = body.get("user")
    groups = body.get("groups", [])
    _check_identity(name, groups)
    assert isinstance(name, str) and isinstance(groups, list)  # narrowed by _check_identity
    token = await tokens.issue(name, groups)
    return {
        "apiVersion": "kctl.io/v1",
        "kind": "Token",
        "user": name,
        "groups": groups,
        "token": token,
    }


def _check_identity(user: Any, groups: Any) -> None:
    if not isinstance(user, str) or not user.strip():
        raise BadRequest('"user" must be a non-empty string')
    if not isinstance(groups, list) or not all(isinstance(g, str) and g for g in groups):
        raise BadRequest('"groups" must be a list of non-empty strings')


def _forbidden(user: UserInfo) -> Forbidden:
    return forbidden(user, RequestAttributes(verb="post", path=TOKENS_PATH))
