"""The REST verbs on a resource: get, list, create, update, patch, delete, deletecollection.

Reads come from the store's cache as stored bytes. Writes follow one path: read the
current entry, compute the full new object (from a PUT body, a patch, or an apply),
admit it (:mod:`kctl.server.admission`), and hand it to the store with the revision it
was computed from, so the database's compare-and-swap decides. A write whose result
equals the stored object is not written at all (resourceVersion unchanged, as
Kubernetes does). Writes computed from the current state (patches, applies, PUTs
without a resourceVersion) retry on a conflict by re-reading; a client that pinned a
resourceVersion gets the 409.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Any

import orjson

from kctl.api import errors, meta
from kctl.api.apply import apply as server_side_apply
from kctl.api.kinds import Registry, ResourceInfo
from kctl.api.patch import apply_patch
from kctl.api.selectors import parse_field_selector, parse_label_selector
from kctl.api.table_rows import row_cache
from kctl.server import deletion
from kctl.server.admission import Admission, WriteOptions
from kctl.server.allocation import ServiceAllocator
from kctl.server.content import decode_body, patch_type
from kctl.server.request import Request, Response
from kctl.store import Entry, Key, KeyExists, KeyNotFound, RevisionConflict, Store

MAX_CONFLICT_RETRIES = 8
# Kinds whose PUT creates a missing object (their strategies' AllowCreateOnUpdate).
CREATE_ON_UPDATE = frozenset({"leases.coordination.k8s.io", "endpoints", "events"})
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def key_of(info: ResourceInfo, namespace: str, name: str) -> Key:
    return Key(info.resource, namespace if info.namespaced else "", name)


def list_kind(info: ResourceInfo) -> str:
    return f"{info.kind}List"


@dataclass
class Resources:
    store: Store
    registry: Registry
    admission: Admission
    allocator: ServiceAllocator | None = None  # Service cluster IPs and node ports

    async def fresh(self) -> None:
        """Several API servers share a PostgreSQL store: before reading its cache, catch up
        with every commit made anywhere (read-your-writes across servers)."""
        if self.store.shared:
            await self.store.sync()

    # ---------------------------------------------------------------- reads
    async def get(self, req: Request) -> Response:
        await self.fresh()
        entry = self._existing(req.target.info, req.target.namespace, req.target.name)
        if req.accept.table:
            table = row_cache(self.store).table(
                req.target.info,
                [entry],
                include_object=req.accept.include_object,
                resource_version=str(entry.revision),
            )
            return Response(200, table)
        return Response(200, entry.value)

    def select(self, req: Request) -> tuple[int, list[Entry]]:
        """The entries a list or watch selects, at one revision."""
        info, query = req.target.info, req.query
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""))
        fields.check_supported(info)
        revision, entries = self.store.list(info.resource, req.target.namespace or None)
        if not labels.empty:
            entries = [e for e in entries if labels.matches(e.labels)]
        if not fields.empty:
            entries = [e for e in entries if fields.matches(e.fields)]
        return revision, entries

    async def list(self, req: Request) -> Response:
        await self.fresh()
        info = req.target.info
        revision, entries = self.select(req)
        if req.accept.table:
            # Rows come from a cache of encoded rows per object revision; a list without
            # selectors shows every object in its scope, so rows of others are dropped.
            selected = req.query.get("labelSelector") or req.query.get("fieldSelector")
            table = row_cache(self.store).table(
                info,
                entries,
                include_object=req.accept.include_object,
                resource_version=str(revision),
                complete=not selected,
                namespace=req.target.namespace or None,
            )
            return Response(200, table)
        head = orjson.dumps(
            {
                "kind": list_kind(info),
                "apiVersion": info.api_version,
                "metadata": {"resourceVersion": str(revision)},
            }
        )
        return Response(200, _list_body(head, [e.value for e in entries]))

    # ---------------------------------------------------------------- create
    async def create(self, req: Request) -> Response:
        info, namespace = req.target.info, req.target.namespace
        obj = self._decode_object(req, info)
        md = obj["metadata"]
        if info.namespaced:
            ns = md.get("namespace") or namespace
            if namespace and ns != namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            md["namespace"] = ns
            self._check_namespace_open(ns)
        else:
            md.pop("namespace", None)
        if not md.get("name") and not md.get("generateName"):
            raise errors.invalid(
                info.kind,
                info.group,
                "",
                [
                    errors.Cause(
                        "metadata.name",
                        "Required value: name or generateName is required",
                        "FieldValueRequired",
                    )
                ],
            )
        opts = self._write_options(req, req.field_manager())
        obj = self.admission.admit_create(info, obj, opts)
        req.warnings.extend(opts.warnings)
        return await self._create(info, obj, req.dry_run)

    async def _create(self, info: ResourceInfo, obj: dict[str, Any], dry_run: bool) -> Response:
        md = obj["metadata"]
        key = key_of(info, md.get("namespace", ""), md["name"])
        async with self._allocating(info, None, obj, dry_run):
            if dry_run:
                return Response.json(201, obj)
            try:
                return Response(201, (await self.store.create(key, obj)).value)
            except KeyExists:
                raise errors.already_exists(info.plural, info.group, md["name"]) from None

    # ---------------------------------------------------------------- update (PUT)
    async def update(self, req: Request) -> Response:
        info, target = req.target.info, req.target
        body = self._decode_object(req, info)
        md = body["metadata"]
        if md.get("name") and md["name"] != target.name:
            raise errors.BadRequest(
                f"the name of the object ({md['name']}) does not match the name on the URL ({target.name})"
            )
        md["name"] = target.name
        if info.namespaced:
            if md.get("namespace") and md["namespace"] != target.namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            md["namespace"] = target.namespace
        pinned = str(md.get("resourceVersion") or "")
        opts = self._write_options(req, req.field_manager(), target.subresource)

        def compute(current: dict[str, Any]) -> dict[str, Any]:
            if pinned and pinned != current["metadata"].get("resourceVersion"):
                raise errors.conflict(info.plural, info.group, target.name)
            return orjson.loads(orjson.dumps(body))

        if self.store.get(key_of(info, target.namespace, target.name)) is None:
            if info.resource in CREATE_ON_UPDATE and not target.subresource:
                return await self.create(req)
        entry = await self.write(req, compute, opts, retry=not pinned)
        return self._written(req, entry)

    # ---------------------------------------------------------------- patch
    async def patch(self, req: Request) -> Response:
        info, target = req.target.info, req.target
        kind = patch_type(req.content_type)
        patch = decode_body(req.body, req.content_type)
        if kind == "apply":
            return await self._apply(req, patch)
        opts = self._write_options(req, req.field_manager(), target.subresource)
        pinned = _patch_resource_version(kind, patch)

        def compute(current: dict[str, Any]) -> dict[str, Any]:
            if pinned and pinned != current["metadata"].get("resourceVersion"):
                raise errors.conflict(info.plural, info.group, target.name)
            return apply_patch(req.content_type or "", current, patch, info.schema_node())

        entry = await self.write(req, compute, opts, retry=not pinned)
        return self._written(req, entry)

    async def _apply(self, req: Request, config: Any) -> Response:
        info, target = req.target.info, req.target
        manager = req.query.get("fieldManager")
        if not manager:
            raise errors.BadRequest(
                "PATCH, application/apply-patch+yaml requires fieldManager to be set"
            )
        if not isinstance(config, dict):
            raise errors.BadRequest("the apply configuration must be an object")
        config.setdefault("apiVersion", info.api_version)
        config.setdefault("kind", info.kind)
        self._check_type(config, info)
        md = config.setdefault("metadata", {})
        if md.get("name") and md["name"] != target.name:
            raise errors.BadRequest(
                f"the name of the object ({md['name']}) does not match the name on the URL ({target.name})"
            )
        md["name"] = target.name
        if info.namespaced:
            md["namespace"] = target.namespace
        force = req.query.get("force", "").lower() == "true"
        opts = self._write_options(req, manager, target.subresource)
        schema = info.schema_node()
        key = key_of(info, target.namespace, target.name)

        if self.store.get(key) is None and not target.subresource:
            if info.namespaced:
                self._check_namespace_open(target.namespace)
            created = server_side_apply(
                None, config, manager, info.api_version, schema, force, meta.now_rfc3339()
            )
            created = self.admission.admit_create(info, created, opts, track=False)
            req.warnings.extend(opts.warnings)
            try:
                return await self._create(info, created, req.dry_run)
            except errors.AlreadyExists:
                pass  # lost a race with another creator: apply over it below

        def compute(current: dict[str, Any]) -> dict[str, Any]:
            pinned = str(config["metadata"].get("resourceVersion") or "")
            if pinned and pinned != current["metadata"].get("resourceVersion"):
                raise errors.conflict(info.plural, info.group, target.name)
            return server_side_apply(
                current, config, manager, info.api_version, schema, force, meta.now_rfc3339()
            )

        entry = await self.write(req, compute, opts, retry=True, track=False)
        return self._written(req, entry)

    # ---------------------------------------------------------------- the write path
    async def write(
        self,
        req: Request,
        compute: Callable[[dict[str, Any]], dict[str, Any]],
        opts: WriteOptions,
        *,
        retry: bool,
        track: bool = True,
        name: str | None = None,
    ) -> Entry | dict[str, Any]:
        """Read-compute-admit-CAS, retried on conflicts when ``retry``. Returns the stored
        entry, or the would-be object for a dry run."""
        info, target = req.target.info, req.target
        name = name or target.name
        key = key_of(info, target.namespace, name)
        for _ in range(MAX_CONFLICT_RETRIES):
            await self.fresh()
            entry = self._existing(info, target.namespace, name)
            current = entry.object()
            new = compute(orjson.loads(entry.value))
            _check_uid(info, name, current, new)
            if self.allocator is not None:
                new = self.allocator.prepare_update(info, current, new, opts.subresource)
            new = self.admission.admit_update(info, current, new, opts, track=track)
            async with self._allocating(info, current, new, req.dry_run, opts.subresource):
                if req.dry_run:
                    req.warnings.extend(opts.warnings)
                    return new
                new["metadata"]["resourceVersion"] = current["metadata"].get("resourceVersion")
                if _same(new, current):
                    req.warnings.extend(opts.warnings)
                    return entry  # nothing changed: nothing written
                try:
                    if deletion.finished(new):
                        result = await self.store.delete(
                            key, expected_revision=entry.revision, last_state=new
                        )
                    else:
                        result = await self.store.update(key, new, entry.revision)
                    req.warnings.extend(opts.warnings)
                    return result
                except RevisionConflict:
                    if not retry:
                        break
                    opts.warnings.clear()
                except KeyNotFound:
                    raise errors.not_found(info.plural, info.group, name) from None
        raise errors.conflict(info.plural, info.group, name)

    def _allocating(
        self,
        info: ResourceInfo,
        old: dict[str, Any] | None,
        new: dict[str, Any],
        dry_run: bool,
        subresource: str = "",
    ) -> AbstractAsyncContextManager[None]:
        """Around a store write: the Service allocation hold (:mod:`kctl.server.allocation`)."""
        if self.allocator is None:
            return contextlib.nullcontext()
        return self.allocator.allocate(info, old, new, dry_run=dry_run, subresource=subresource)

    def _releasing(
        self, info: ResourceInfo, current: dict[str, Any]
    ) -> AbstractAsyncContextManager[None]:
        """Around a store delete: the release of a Service's allocation records."""
        if self.allocator is None:
            return contextlib.nullcontext()
        return self.allocator.removing(info, current)

    def _written(self, req: Request, result: Entry | dict[str, Any]) -> Response:
        if isinstance(result, Entry):
            return Response(200, result.value)
        return Response.json(200, result)

    # ---------------------------------------------------------------- delete
    async def delete(self, req: Request) -> Response:
        info, target = req.target.info, req.target
        options = deletion.parse_options(req.body, req.query)
        for _ in range(MAX_CONFLICT_RETRIES):
            await self.fresh()
            entry = self._existing(info, target.namespace, target.name)
            current = entry.object()
            plan = deletion.plan(info, current, options, meta.now_rfc3339())
            if req.dry_run:
                return Response.json(
                    200, plan.obj if plan.keep else deletion.success_status(info, current)
                )
            key = key_of(info, target.namespace, target.name)
            try:
                if plan.keep:
                    if plan.obj == current:
                        return Response(200, entry.value)
                    stored = await self.store.update(key, plan.obj, entry.revision)
                    return Response(200, stored.value)
                async with self._releasing(info, current):
                    gone = await self.store.delete(
                        key, expected_revision=entry.revision, last_state=plan.obj
                    )
                if info.resource in deletion.RETURNS_DELETED_OBJECT:
                    return Response(200, gone.value)
                return Response.json(200, deletion.success_status(info, current))
            except RevisionConflict:
                if options.preconditions_rv:
                    break
            except KeyNotFound:
                raise errors.not_found(info.plural, info.group, target.name) from None
        raise errors.conflict(info.plural, info.group, target.name)

    async def delete_collection(self, req: Request) -> Response:
        await self.fresh()
        info = req.target.info
        revision, entries = self.select(req)
        deleted: list[bytes] = []
        for entry in entries:
            target = replace(
                req.target, verb="delete", namespace=entry.key.namespace, name=entry.key.name
            )
            sub = replace(req, target=target)
            try:
                await self.delete(sub)
                deleted.append(entry.value)
            except errors.NotFound:
                continue
        head = orjson.dumps(
            {
                "kind": list_kind(info),
                "apiVersion": info.api_version,
                "metadata": {"resourceVersion": str(self.store.revision)},
            }
        )
        return Response(200, _list_body(head, deleted))

    # ---------------------------------------------------------------- helpers
    def _existing(self, info: ResourceInfo, namespace: str, name: str) -> Entry:
        entry = self.store.get(key_of(info, namespace, name))
        if entry is None:
            raise errors.not_found(info.plural, info.group, name)
        return entry

    def _check_namespace_open(self, namespace: str) -> None:
        if not namespace:
            raise errors.BadRequest("a namespace is required for this kind")
        entry = self.store.get(Key("namespaces", "", namespace))
        if entry is None:
            raise errors.not_found("namespaces", "", namespace)
        if entry.object().get("metadata", {}).get("deletionTimestamp"):
            raise errors.Forbidden(
                f"unable to create new content in namespace {namespace} because it is being terminated",
                {"name": namespace, "kind": "namespaces"},
            )

    def _decode_object(self, req: Request, info: ResourceInfo) -> dict[str, Any]:
        obj = decode_body(req.body, req.content_type)
        if not isinstance(obj, dict):
            raise errors.BadRequest("the request body must be a JSON object")
        obj.setdefault("apiVersion", info.api_version)
        obj.setdefault("kind", info.kind)
        self._check_type(obj, info)
        if not isinstance(obj.setdefault("metadata", {}), dict):
            raise errors.BadRequest("metadata must be an object")
        return obj

    def _check_type(self, obj: dict[str, Any], info: ResourceInfo) -> None:
        if obj.get("apiVersion") != info.api_version:
            raise errors.BadRequest(
                f"the API version in the data ({obj.get('apiVersion')}) does not match the expected "
                f"API version ({info.api_version})"
            )
        if obj.get("kind") != info.kind:
            raise errors.BadRequest(
                f"the kind in the data ({obj.get('kind')}) does not match the expected kind ({info.kind})"
            )

    def _write_options(self, req: Request, manager: str, subresource: str = "") -> WriteOptions:
        validation = req.query.get("fieldValidation") or "Warn"
        if validation not in ("Strict", "Warn", "Ignore"):
            raise errors.BadRequest(
                f'fieldValidation must be one of "Ignore", "Warn" or "Strict", not {validation!r}'
            )
        return WriteOptions(manager=manager, field_validation=validation, subresource=subresource)


def _list_body(head: bytes, items: list[bytes]) -> bytes:
    """``head`` (a list's JSON without items) with ``items`` spliced in, built in one
    join: a 10,000-pod list is ~30 MB, and every ``+`` would copy all of it again."""
    parts = [head[:-1], b',"items":[']
    for i, item in enumerate(items):
        if i:
            parts.append(b",")
        parts.append(item)
    parts.append(b"]}")
    return b"".join(parts)


def _check_uid(info: ResourceInfo, name: str, current: dict[str, Any], new: dict[str, Any]) -> None:
    """A write naming a uid is a precondition on it (kube-apiserver's GuaranteedUpdate): a
    controller that adopts or releases "the pod with uid X" must not change a namesake."""
    wanted = (new.get("metadata") or {}).get("uid")
    actual = current["metadata"].get("uid")
    if wanted and wanted != actual:
        why = f"Precondition failed: UID in precondition: {wanted}, UID in object meta: {actual}"
        raise errors.conflict(info.plural, info.group, name, why)


def _same(new: dict[str, Any], current: dict[str, Any]) -> bool:
    """Equal, or equal but for managedFields timestamps (which alone are no change, as in
    kube-apiserver)."""
    if new == current:
        return True

    def untimed(obj: dict[str, Any]) -> dict[str, Any]:
        md = obj.get("metadata", {})
        fields = [
            {k: v for k, v in m.items() if k != "time"} for m in md.get("managedFields") or []
        ]
        return {**obj, "metadata": {**md, "managedFields": fields}}

    return untimed(new) == untimed(current)


def _patch_resource_version(kind: str, patch: Any) -> str:
    if kind == "json":
        return ""  # a json patch pins a version only through a "test" op, which it checks itself
    md = patch.get("metadata") if isinstance(patch, dict) else None
    return str(md.get("resourceVersion") or "") if isinstance(md, dict) else ""
