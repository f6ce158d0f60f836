"""What a describer may ask the server, besides the object it describes.

kubectl's describers make their own follow-up requests (events about the object, the
ReplicaSets of a Deployment, the pods on a Node, the node's Lease). They go through
this one context so that every list is paged the way kubectl pages it (``limit`` =
``--chunk-size``, following ``continue``) and so that a kind the server does not serve
is recognised without a failing request, as kubectl treats a 404 list as "not there".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kctl.api.errors import ApiError, NotFound

if TYPE_CHECKING:
    from kctl.api.kinds import Registry, ResourceInfo
    from kctl.client.http import Client


@dataclass
class DescribeContext:
    client: Client
    registry: Registry
    show_events: bool = True
    chunk_size: int = 500

    def served(self, group: str, kind: str) -> ResourceInfo | None:
        """The served kind ``group``/``kind`` (any version), or None."""
        for info in self.registry:
            if info.group == group and info.kind == kind:
                return info
        return None

    def list_all(
        self,
        info: ResourceInfo,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every item, in server order, across ``continue`` pages."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self.client.list(
                info,
                namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                limit=self.chunk_size if self.chunk_size > 0 else None,
                continue_token=token,
            )
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def get(self, info: ResourceInfo, name: str, namespace: str | None) -> dict[str, Any]:
        result: dict[str, Any] = self.client.get(info, name, namespace)
        return result

    def try_list(
        self, group: str, kind: str, namespace: str | None, **selectors: str
    ) -> list[dict[str, Any]] | None:
        """:meth:`list_all` of a kind that may not be served: None when it is not
        (or the list answers 404), errors other than NotFound propagate."""
        info = self.served(group, kind)
        if info is None:
            return None
        try:
            return self.list_all(info, namespace, **selectors)
        except NotFound:
            return None

    def quiet_list(
        self, group: str, kind: str, namespace: str | None, **selectors: str
    ) -> list[dict[str, Any]]:
        """A list whose failure kubectl ignores (prints as if empty)."""
        try:
            return self.try_list(group, kind, namespace, **selectors) or []
        except ApiError:
            return []
