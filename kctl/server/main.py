"""Starting the API server: settings, first-start bootstrap, and the HTTPS listener.

``kctl apiserver --data-dir DIR`` is all a user runs. The first start creates the PKI,
tokens and kubeconfigs (:mod:`kctl.server.bootstrap`), the store file, the four
namespaces every cluster has, and the ConfigMap ``kube-system/kctl-config`` that
publishes the cluster-wide settings (service CIDR, cluster CIDR, DNS address) to the
reconciler and the nodes. A restart on the same directory finds all of it again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kctl.api import kinds
from kctl.api.fields import extract_fields
from kctl.api.validation import Validator
from kctl.server.admission import Admission, WriteOptions
from kctl.server.allocation import AllocationSettings, ServiceAllocator
from kctl.server.app import ApiApp
from kctl.server.auth import AllowPrivileged, ChainAuthorizer, NodeAuthorizer, TokenAuthenticator
from kctl.server.bootstrap import bootstrap
from kctl.server.discovery import Discovery
from kctl.server.nodeproxy import KubeletClientTLS, NodeProxy
from kctl.server.resources import Resources, key_of
from kctl.server.tokens import TokenRegistry
from kctl.store import Key, KeyExists, Store, StoreSettings

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
CONFIG_MAP = ("kube-system", "kctl-config")


@dataclass
class ServerSettings:
    """Everything the API server can be told; defaults are the documented ones."""

    data_dir: Path = Path("./kctl-data")
    listen: str = "127.0.0.1:6443"
    store_url: str = ""  # default: sqlite:///<data_dir>/store.db
    cluster_name: str = "kctl"
    advertise_addresses: list[str] = field(default_factory=list)
    insecure_http: bool = False  # local debugging only: kubectl sends no token over http
    service_cidr: str = "10.96.0.0/12"
    cluster_cidr: str = "10.244.0.0/16"
    cluster_dns: str = "10.96.0.10"
    service_node_port_range: str = "30000-32767"
    store: StoreSettings = field(default_factory=StoreSettings)

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]") or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{(self.data_dir / 'store.db').resolve()}"

    def allocation(self) -> AllocationSettings:
        return AllocationSettings(
            service_cidr=self.service_cidr,
            node_port_range=self.service_node_port_range,
            cluster_dns=self.cluster_dns,
        )

    def cluster_config(self) -> dict[str, str]:
        return {
            "serviceCIDR": self.service_cidr,
            "clusterCIDR": self.cluster_cidr,
            "clusterDNS": self.cluster_dns,
        }


@dataclass
class Server:
    """A built API server: the ASGI app and what it owns."""

    settings: ServerSettings
    app: ApiApp
    store: Store
    pki: Any

    async def close(self) -> None:
        if self.app.node_proxy is not None:
            await self.app.node_proxy.close()
        if self.app.resources.allocator is not None:
            await self.app.resources.allocator.close()
        await self.store.close()


async def build(settings: ServerSettings) -> Server:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    registry = kinds.default_registry()

    def field_extractor(resource: str, obj: dict[str, Any]) -> dict[str, str]:
        info = registry.by_resource(resource)
        return extract_fields(info, obj) if info is not None else {}

    store = await Store.open(
        settings.resolved_store_url(), field_extractor=field_extractor, settings=settings.store
    )
    tokens = TokenRegistry(store)
    pki = await bootstrap(
        settings.data_dir,
        listen_host=settings.host,
        port=settings.port,
        advertise_addresses=settings.advertise_addresses,
        cluster_name=settings.cluster_name,
        tokens=tokens,
        scheme="http" if settings.insecure_http else "https",
    )
    validator = Validator(settings.data_dir / "cache")
    threading.Thread(
        target=validator.warm, args=(list(registry),), name="validator-warm", daemon=True
    ).start()
    admission = Admission(validator)
    allocator = ServiceAllocator(store, settings.allocation())
    resources = Resources(store, registry, admission, allocator)
    await _ensure_system_objects(resources, settings)
    await allocator.start()  # repairs the allocation records, then every repair interval

    def pods_on_node(node: str) -> list[dict[str, Any]]:
        _, entries = store.list("pods", None)
        return [e.object() for e in entries if e.fields.get("spec.nodeName") == node]

    authorizer = ChainAuthorizer([AllowPrivileged(), NodeAuthorizer(pods_on_node)])
    app = ApiApp(
        registry=registry,
        resources=resources,
        discovery=Discovery(registry, f"{settings.host}:{settings.port}"),
        authenticator=TokenAuthenticator(tokens),
        authorizer=authorizer,
        tokens=tokens,
        node_proxy=NodeProxy(
            resources,
            KubeletClientTLS(pki.ca_cert, pki.kubelet_client_cert, pki.kubelet_client_key),
        ),
    )
    return Server(settings, app, store, pki)


async def _ensure_system_objects(resources: Resources, settings: ServerSettings) -> None:
    """The namespaces every cluster has, and the published cluster settings."""
    registry, admission = resources.registry, resources.admission
    opts = WriteOptions(manager="kctl-apiserver")
    ns_info = registry.by_resource("namespaces")
    cm_info = registry.by_resource("configmaps")
    assert ns_info is not None and cm_info is not None
    for name in SYSTEM_NAMESPACES:
        if resources.store.get(Key("namespaces", "", name)) is None:
            obj = admission.admit_create(
                ns_info, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}, opts
            )
            try:
                await resources.store.create(Key("namespaces", "", name), obj)
            except KeyExists:
                pass
    namespace, name = CONFIG_MAP
    key = key_of(cm_info, namespace, name)
    wanted = settings.cluster_config()
    entry = resources.store.get(key)
    if entry is None:
        obj = admission.admit_create(
            cm_info,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": namespace},
                "data": wanted,
            },
            opts,
        )
        try:
            await resources.store.create(key, obj)
        except KeyExists:
            pass
    elif entry.object().get("data") != wanted:
        current = entry.object()
        new = admission.admit_update(cm_info, current, {**current, "data": wanted}, opts)
        await resources.store.update(key, new, entry.revision)


def run(settings: ServerSettings) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn handles both and drains connections)."""
    import uvicorn
    import uvloop

    async def main() -> None:
        server = await build(settings)
        config = uvicorn.Config(
            server.app,
            host=settings.host,
            port=settings.port,
            http="httptools",
            loop="none",
            lifespan="off",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=2,
            ssl_certfile=None if settings.insecure_http else str(server.pki.server_cert),
            ssl_keyfile=None if settings.insecure_http else str(server.pki.server_key),
        )
        scheme = "http" if settings.insecure_http else "https"
        log.info(
            "kctl apiserver serving on %s://%s:%d (store %s)",
            scheme,
            settings.host,
            settings.port,
            settings.resolved_store_url(),
        )
        try:
            await uvicorn.Server(config).serve()
        finally:
            await server.close()

    uvloop.run(main())


__all__ = ["Server", "ServerSettings", "build", "run"]
