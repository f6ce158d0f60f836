from __future__ import annotations

from collections.abc import Iterator

import pytest

from kctl.api.kinds import ResourceInfo
from kctl.client.http import Client
from kctl.client.kubeconfig import config_for
from tests.client.stub_server import StubServer

PODS = ResourceInfo(
    group="", version="v1", kind="Pod", plural="pods", singular="pod", namespaced=True
)
DEPLOYMENTS = ResourceInfo(
    group="apps",
    version="v1",
    kind="Deployment",
    plural="deployments",
    singular="deployment",
    namespaced=True,
)
NODES = ResourceInfo(
    group="", version="v1", kind="Node", plural="nodes", singular="node", namespaced=False
)


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(stub: StubServer) -> Iterator[Client]:
    c = Client(config_for(stub.url, token="s3cret", namespace="team"), timeout=5)
    try:
        yield c
    finally:
        c.close()
