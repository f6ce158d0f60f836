"""Push images from an archive to an OCI registry (the distribution API over httpx).

The registry is the machine's own (Debian's docker-registry on loopback, plain http),
which pods then pull from through CRI. The protocol is the OCI distribution spec's
push: for each blob, ``HEAD`` to skip what the registry has, else ``POST`` an upload
session and ``PUT`` the bytes with their digest (a monolithic upload, streamed from
the archive); the manifest goes last with ``PUT /v2/NAME/manifests/TAG``, so a
reader never sees a manifest whose blobs are not there yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from urllib.parse import urljoin

import httpx

from kctl.images.archive import ArchivedImage, OciArchive
from kctl.images.reference import Reference, check_loopback_registry

CHUNK = 1 << 20


class PushError(RuntimeError):
    pass


@dataclass(frozen=True)
class PushResult:
    reference: str  # 127.0.0.1:5000/web:dev
    digest: str  # manifest digest
    uploaded: int  # blobs uploaded (the others were there already)


def _chunks(handle: IO[bytes]) -> Iterator[bytes]:
    while chunk := handle.read(CHUNK):
        yield chunk


def _check(resp: httpx.Response, what: str, *expected: int) -> None:
    if resp.status_code not in expected:
        body = resp.text.strip()[:500]
        raise PushError(f"{what}: HTTP {resp.status_code} {body}")


class RegistryClient:
    """A plain-http client for one loopback registry."""

    def __init__(self, registry: str, timeout: float = 60.0) -> None:
        self.registry = check_loopback_registry(registry)
        self.base = f"http://{self.registry}"
        self.http = httpx.Client(base_url=self.base, timeout=timeout, trust_env=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_blob(self, name: str, digest: str) -> bool:
        resp = self.http.head(f"/v2/{name}/blobs/{digest}")
        return resp.status_code == 200

    def upload_blob(self, name: str, digest: str, size: int, handle: IO[bytes]) -> None:
        start = self.http.post(f"/v2/{name}/blobs/uploads/")
        _check(start, f"starting upload of {digest} to {name}", 202)
        location = start.headers.get("Location")
        if not location:
            raise PushError(f"registry gave no upload location for {digest}")
        url = httpx.URL(urljoin(self.base + "/", location))
        url = url.copy_merge_params({"digest": digest})
        resp = self.http.put(
            url,
            content=_chunks(handle),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
        _check(resp, f"uploading {digest} to {name}", 201, 204)

    def put_manifest(self, name: str, tag: str, media_type: str, data: bytes) -> str:
        resp = self.http.put(
            f"/v2/{name}/manifests/{tag}", content=data, headers={"Content-Type": media_type}
        )
        _check(resp, f"pushing manifest {name}:{tag}", 201, 200)
        return resp.headers.get("Docker-Content-Digest", "")

    def get_manifest(self, name: str, tag: str, media_type: str) -> httpx.Response:
        return self.http.get(f"/v2/{name}/manifests/{tag}", headers={"Accept": media_type})


def target_reference(source: Reference, registry: str) -> Reference:
    """Where ``source`` goes in ``registry``: ``web:dev`` -> ``127.0.0.1:5000/web:dev``."""
    return source.with_domain(registry)


def push_image(
    client: RegistryClient, archive: OciArchive, image: ArchivedImage, target: Reference
) -> PushResult:
    name, tag = target.path, target.tag or "latest"
    uploaded = 0
    for desc in image.blobs:
        digest, size = desc["digest"], int(desc["size"])
        if client.has_blob(name, digest):
            continue
        if not archive.has_blob(digest):
            raise PushError(f"{archive.path}: blob {digest} of {image.name or name} is missing")
        with archive.open_blob(digest) as handle:
            client.upload_blob(name, digest, size, handle)
        uploaded += 1
    digest = client.put_manifest(name, tag, image.manifest_media_type, image.manifest_bytes)
    return PushResult(f"{target.domain}/{name}:{tag}", digest or image.manifest_digest, uploaded)
