"""The deployment controller against a real API server, running in-process.

No ReplicaSet controller runs here: a minimal stand-in writes each ReplicaSet's status
(replicas/readyReplicas/availableReplicas = spec.replicas, 10-200 ms later) so rollouts
progress. A checker looks at every ReplicaSet event of the Deployment under test and
records any state where the ReplicaSets ask for more than replicas + maxSurge pods or
report fewer than replicas - maxUnavailable available ones.
"""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from kctl.api import errors
from kctl.api.meta import controller_of
from kctl.client.http import AsyncClient
from kctl.client.informer import InformerFactory
from kctl.client.resources import DEPLOYMENTS, EVENTS, REPLICASETS
from reconciler.controller import ControllerContext
from reconciler.controllers.deployment import new
from tests.fixtures.apiserver import ApiServerProcess

NS = "default"
REVISION = "deployment.kubernetes.io/revision"
UNSERVED = "stuck-"  # ReplicaSets of this prefix get no status from the stand-in
STATUS_DELAY = (0.01, 0.2)  # seconds: a ReplicaSet controller that lags, by varying amounts


def manifest(
    name: str, replicas: int, image: str, strategy: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
            **({"strategy": strategy} if strategy else {}),
            **spec,
        },
    }


@dataclass
class Harness:
    client: AsyncClient
    informers: InformerFactory
    watched: str = ""
    bounds: tuple[int, int] = (0, 0)  # (max pods, min available) while checking
    checking: bool = False
    violations: list[str] = field(default_factory=list)
    max_seen: int = 0
    creations: list[tuple[str, list[tuple[str, int, int]]]] = field(default_factory=list)
    _pending: set[str] = field(default_factory=set)

    def owned(self) -> list[dict[str, Any]]:
        d = self.informers.informer(DEPLOYMENTS).store.get(f"{NS}/{self.watched}")
        if d is None:
            return []
        uid = d["metadata"]["uid"]
        return [
            rs
            for rs in self.informers.informer(REPLICASETS).store.list()
            if (controller_of(rs) or {}).get("uid") == uid
        ]

    def check(self, rs: dict[str, Any], added: bool) -> None:
        if added and self.watched and rs["metadata"]["name"].startswith(self.watched + "-"):
            others = [
                (
                    o["metadata"]["name"],
                    o["spec"]["replicas"],
                    o.get("status", {}).get("replicas", 0),
                )
                for o in self.owned()
                if o["metadata"]["uid"] != rs["metadata"]["uid"]
            ]
            self.creations.append((rs["metadata"]["name"], others))
        if not self.checking:
            return
        owned = self.owned()
        pods = sum(o["spec"]["replicas"] for o in owned)
        available = sum(o.get("status", {}).get("availableReplicas", 0) for o in owned)
        self.max_seen = max(self.max_seen, pods)
        max_pods, min_available = self.bounds
        if pods > max_pods or available < min_available:
            state = {
                o["metadata"]["name"]: (
                    o["spec"]["replicas"],
                    o.get("status", {}).get("availableReplicas", 0),
                )
                for o in owned
            }
            self.violations.append(
                f"pods={pods} available={available} bounds={self.bounds}: {state}"
            )

    def on_rs(self, rs: dict[str, Any], added: bool = False) -> None:
        self.check(rs, added)
        spec, status = rs["spec"]["replicas"], rs.get("status") or {}
        want = (spec, spec, spec, rs["metadata"].get("generation"))
        have = (
            status.get("replicas"),
            status.get("readyReplicas"),
            status.get("availableReplicas"),
            status.get("observedGeneration"),
        )
        name = rs["metadata"]["name"]
        if name.startswith(UNSERVED):
            return  # pods that never become available
        if want != have and name not in self._pending:
            self._pending.add(name)
            asyncio.get_running_loop().create_task(self._write_status(name))

    async def _write_status(self, name: str) -> None:
        await asyncio.sleep(random.uniform(*STATUS_DELAY))
        self._pending.discard(name)
        for _ in range(5):
            try:
                rs = copy.deepcopy(await self.client.get(REPLICASETS, name, NS))
                n = rs["spec"]["replicas"]
                rs["status"] = {
                    "replicas": n,
                    "fullyLabeledReplicas": n,
                    "readyReplicas": n,
                    "availableReplicas": n,
                    "observedGeneration": rs["metadata"].get("generation"),
                }
                await self.client.replace(REPLICASETS, rs, NS, subresource="status")
                return
            except errors.Conflict:
                continue
            except errors.NotFound:
                return

    async def wait(
        self, what: str, predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0
    ) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if await predicate():
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    async def rollout_done(self, name: str, replicas: int) -> bool:
        d = await self.client.get(DEPLOYMENTS, name, NS)
        st = d.get("status") or {}
        progressing: dict[str, Any] = next(
            (c for c in st.get("conditions") or () if c["type"] == "Progressing"), {}
        )
        return (
            st.get("observedGeneration") == d["metadata"]["generation"]
            and st.get("updatedReplicas", 0) == replicas
            and st.get("replicas", 0) == replicas
            and st.get("availableReplicas", 0) == replicas
            and progressing.get("reason") == "NewReplicaSetAvailable"
        )

    async def replica_sets(self, name: str) -> list[dict[str, Any]]:
        d = await self.client.get(DEPLOYMENTS, name, NS)
        items = (await self.client.list(REPLICASETS, NS))["items"]
        return [rs for rs in items if (controller_of(rs) or {}).get("uid") == d["metadata"]["uid"]]


def run_with_controller(
    apiserver: ApiServerProcess, scenario: Callable[[Harness], Awaitable[None]]
) -> None:
    async def main() -> None:
        client = AsyncClient.from_kubeconfig(str(apiserver.kubeconfig))
        informers = InformerFactory(client)
        ctx = ControllerContext(client=client, informers=informers)
        controller = new(ctx)
        harness = Harness(client, informers)
        informers.informer(REPLICASETS).add_handler(
            lambda rs: harness.on_rs(rs, added=True), lambda _old, rs: harness.on_rs(rs)
        )
        await informers.start()
        task = asyncio.create_task(controller.run())
        try:
            await informers.wait_synced(timeout=20)
            await scenario(harness)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await informers.stop()
            await ctx.close()
            await client.aclose()

    asyncio.run(main())


def set_image(name: str, image: str) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": image}]}}}}


@pytest.mark.parametrize(("surge", "unavailable"), [(0, 0), ("0%", "0%"), (0, "0%")])
def test_both_fenceposts_zero_is_rejected(
    apiserver: ApiServerProcess, surge: Any, unavailable: Any
) -> None:
    async def scenario(h: Harness) -> None:
        rolling = {"maxSurge": surge, "maxUnavailable": unavailable}
        body = manifest("zero", 3, "web:1", {"type": "RollingUpdate", "rollingUpdate": rolling})
        with pytest.raises(errors.Invalid) as caught:
            await h.client.create(DEPLOYMENTS, body, NS)
        assert "may not be 0 when `maxSurge` is 0" in str(caught.value)

    run_with_controller(apiserver, scenario)


def test_rolling_update_within_bounds_then_rollback(apiserver: ApiServerProcess) -> None:
    name = "roll"

    async def scenario(h: Harness) -> None:
        h.watched = name
        await h.client.create(DEPLOYMENTS, manifest(name, 6, "web:1"), NS)
        await h.wait("first rollout", lambda: h.rollout_done(name, 6))
        d = await h.client.get(DEPLOYMENTS, name, NS)
        assert d["metadata"]["annotations"][REVISION] == "1"
        (first,) = await h.replica_sets(name)
        hash_label = first["metadata"]["labels"]["pod-template-hash"]
        assert first["metadata"]["name"] == f"{name}-{hash_label}"
        assert first["spec"]["selector"]["matchLabels"]["pod-template-hash"] == hash_label
        assert first["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == hash_label
        assert first["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] is True
        assert first["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "6"
        assert first["metadata"]["annotations"]["deployment.kubernetes.io/max-replicas"] == "8"

        # 6 replicas, 25%/25%: maxSurge 2, maxUnavailable 1
        h.bounds, h.checking = (8, 5), True
        await h.client.patch(
            DEPLOYMENTS, name, set_image(name, "web:2"), NS, patch_type="strategic"
        )
        await h.wait("second rollout", lambda: h.rollout_done(name, 6))
        h.checking = False
        assert h.violations == []
        assert h.max_seen > 6  # it did surge
        rss = {rs["metadata"]["annotations"][REVISION]: rs for rs in await h.replica_sets(name)}
        assert sorted(rss) == ["1", "2"]
        assert rss["1"]["spec"]["replicas"] == 0 and rss["2"]["spec"]["replicas"] == 6
        d = await h.client.get(DEPLOYMENTS, name, NS)
        assert d["metadata"]["annotations"][REVISION] == "2"
        conditions = {c["type"]: c for c in d["status"]["conditions"]}
        assert conditions["Available"]["reason"] == "MinimumReplicasAvailable"
        assert (
            conditions["Progressing"]["message"]
            == f'ReplicaSet "{rss["2"]["metadata"]["name"]}" has successfully progressed.'
        )

        events = [
            e
            for e in (await h.client.list(EVENTS, NS))["items"]
            if e["involvedObject"]["name"] == name
        ]
        messages = {e["message"] for e in events if e["reason"] == "ScalingReplicaSet"}
        assert f"Scaled up replica set {first['metadata']['name']} from 0 to 6" in messages
        assert any(
            m.startswith(f"Scaled down replica set {first['metadata']['name']} from 6 to")
            for m in messages
        )

        # rollback: the CLI writes the old template back; the old ReplicaSet is reused
        old_template = copy.deepcopy(rss["1"]["spec"]["template"])
        del old_template["metadata"]["labels"]["pod-template-hash"]
        d["spec"]["template"] = old_template
        h.bounds, h.checking = (8, 5), True
        await h.client.replace(DEPLOYMENTS, d, NS)
        await h.wait("rollback", lambda: h.rollout_done(name, 6))
        h.checking = False
        assert h.violations == []
        rss_after = await h.replica_sets(name)
        assert len(rss_after) == 2
        reused = next(
            rs for rs in rss_after if rs["metadata"]["uid"] == rss["1"]["metadata"]["uid"]
        )
        assert reused["spec"]["replicas"] == 6
        assert reused["metadata"]["annotations"][REVISION] == "3"
        assert reused["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
        d = await h.client.get(DEPLOYMENTS, name, NS)
        assert d["metadata"]["annotations"][REVISION] == "3"

        # a scaling event: the single active ReplicaSet takes the new size
        await h.client.patch(DEPLOYMENTS, name, {"spec": {"replicas": 9}}, NS)
        await h.wait("scaled to 9", lambda: h.rollout_done(name, 9))
        reused = await h.client.get(REPLICASETS, reused["metadata"]["name"], NS)
        assert reused["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "9"

    run_with_controller(apiserver, scenario)


def test_recreate_creates_new_only_after_old_is_gone(apiserver: ApiServerProcess) -> None:
    name = "recreate"

    async def scenario(h: Harness) -> None:
        h.watched = name
        await h.client.create(DEPLOYMENTS, manifest(name, 3, "web:1", {"type": "Recreate"}), NS)
        await h.wait("first rollout", lambda: h.rollout_done(name, 3))
        await h.client.patch(
            DEPLOYMENTS, name, set_image(name, "web:2"), NS, patch_type="strategic"
        )
        await h.wait("second rollout", lambda: h.rollout_done(name, 3))
        assert len(h.creations) == 2
        new_name, others = h.creations[1]
        assert others and all(spec == 0 and actual == 0 for _, spec, actual in others), others

    run_with_controller(apiserver, scenario)


def test_adopts_orphans_and_cleans_history(apiserver: ApiServerProcess) -> None:
    name = "adopt"

    async def scenario(h: Harness) -> None:
        h.watched = name
        template = manifest(name, 2, "web:0")["spec"]["template"]
        orphan = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": f"{name}-orphan", "namespace": NS, "labels": {"app": name}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": name}},
                "template": template,
            },
        }
        await h.client.create(REPLICASETS, orphan, NS)
        await h.client.create(DEPLOYMENTS, manifest(name, 2, "web:1", revisionHistoryLimit=1), NS)
        await h.wait("rollout", lambda: h.rollout_done(name, 2))
        adopted = await h.client.get(REPLICASETS, f"{name}-orphan", NS)
        assert (controller_of(adopted) or {}).get("name") == name
        assert adopted["spec"]["replicas"] == 0

        for image in ("web:2", "web:3"):
            await h.client.patch(
                DEPLOYMENTS, name, set_image(name, image), NS, patch_type="strategic"
            )
            await h.wait(f"rollout {image}", lambda: h.rollout_done(name, 2))

        async def history_trimmed() -> bool:
            return len(await h.replica_sets(name)) == 2  # the current one + 1 of history

        await h.wait("history cleanup", history_trimmed)

    run_with_controller(apiserver, scenario)


def _condition(d: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(
        (c for c in (d.get("status") or {}).get("conditions") or () if c["type"] == kind), {}
    )


def test_progress_deadline_exceeded(apiserver: ApiServerProcess) -> None:
    name = "stuck"

    async def scenario(h: Harness) -> None:
        await h.client.create(
            DEPLOYMENTS, manifest(name, 2, "web:1", progressDeadlineSeconds=2), NS
        )

        async def timed_out() -> bool:
            d = await h.client.get(DEPLOYMENTS, name, NS)
            return _condition(d, "Progressing").get("reason") == "ProgressDeadlineExceeded"

        await h.wait("the deadline", timed_out, timeout=15)
        d = await h.client.get(DEPLOYMENTS, name, NS)
        (rs,) = await h.replica_sets(name)
        progressing = _condition(d, "Progressing")
        assert progressing["status"] == "False"
        assert (
            progressing["message"]
            == f'ReplicaSet "{rs["metadata"]["name"]}" has timed out progressing.'
        )
        available = _condition(d, "Available")
        assert (available["status"], available["reason"]) == ("False", "MinimumReplicasUnavailable")
        assert d["status"].get("unavailableReplicas") == 2

    run_with_controller(apiserver, scenario)


def test_paused_deployment_does_not_roll_out(apiserver: ApiServerProcess) -> None:
    name = "paused"

    async def scenario(h: Harness) -> None:
        await h.client.create(DEPLOYMENTS, manifest(name, 2, "web:1"), NS)
        await h.wait("rollout", lambda: h.rollout_done(name, 2))
        await h.client.patch(DEPLOYMENTS, name, {"spec": {"paused": True}}, NS)

        async def paused_condition() -> bool:
            d = await h.client.get(DEPLOYMENTS, name, NS)
            return _condition(d, "Progressing").get("reason") == "DeploymentPaused"

        await h.wait("paused condition", paused_condition)
        d = await h.client.get(DEPLOYMENTS, name, NS)
        assert _condition(d, "Progressing")["message"] == "Deployment is paused"
        assert _condition(d, "Progressing")["status"] == "Unknown"
        await h.client.patch(
            DEPLOYMENTS, name, set_image(name, "web:2"), NS, patch_type="strategic"
        )
        await h.client.patch(DEPLOYMENTS, name, {"spec": {"replicas": 3}}, NS)

        async def scaled() -> bool:
            rss = await h.replica_sets(name)
            return len(rss) == 1 and rss[0]["spec"]["replicas"] == 3

        await h.wait("scaled while paused", scaled)
        await asyncio.sleep(0.5)
        assert len(await h.replica_sets(name)) == 1  # no rollout while paused

        await h.client.patch(DEPLOYMENTS, name, {"spec": {"paused": False}}, NS)
        await h.wait("rollout after resume", lambda: h.rollout_done(name, 3))
        rss = await h.replica_sets(name)
        assert sorted(rs["spec"]["replicas"] for rs in rss) == [0, 3]

    run_with_controller(apiserver, scenario)
