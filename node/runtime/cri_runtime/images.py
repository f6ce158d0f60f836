"""Images for a pod's containers: the pull policy and the kubelet's pull backoff.

``imagePullPolicy`` defaults as Kubernetes defaults it: ``Always`` for ``:latest`` or
an untagged name without a digest, ``IfNotPresent`` otherwise. The runtime asks
``ImageStatus`` first (a missing image is an OK answer without an image) and pulls only
when the policy says so. A failed pull is ``ErrImagePull`` with the runtime's error as
the message; until the backoff (10 s doubling to 300 s, per pod and image) has passed,
the container waits with ``ImagePullBackOff`` and ``Back-off pulling image "X": ...``;
then the next sync pulls again, so an image pushed meanwhile starts the pod without
anyone's help. ``Never`` with a missing image is ``ErrImageNeverPull``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from node.runtime import errors
from node.runtime.cri.client import CriClient
from node.runtime.cri_runtime.backoff import Backoff
from node.runtime.cri_runtime.problems import ContainerProblem

log = logging.getLogger(__name__)

ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACKOFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
INVALID_IMAGE_NAME = "InvalidImageName"


def default_pull_policy(image: str) -> str:
    """Kubernetes' default: Always for ``:latest`` or no tag (and no digest)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def pull_policy(container: dict[str, object]) -> str:
    policy = container.get("imagePullPolicy")
    if policy in ("Always", "IfNotPresent", "Never"):
        return str(policy)
    return default_pull_policy(str(container.get("image") or ""))


@dataclass(frozen=True)
class ResolvedImage:
    image_id: str  # "sha256:<config digest>": what CreateContainer gets
    name: str  # as the spec names it


class ImagePuller:
    def __init__(self, cri: CriClient, backoff: Backoff | None = None) -> None:
        self.cri = cri
        self.backoff = backoff or Backoff()
        self._last_error: dict[str, str] = {}

    async def ensure(self, pod_uid: str, container: dict[str, object]) -> ResolvedImage:
        """The image's id, pulling it if the policy says so; raises :class:`ContainerProblem`."""
        image = str(container.get("image") or "")
        if not image:
            raise ContainerProblem(INVALID_IMAGE_NAME, 'Failed to apply default image tag ""')
        policy = pull_policy(container)
        present = await self.cri.image_status(image)
        if present is not None and policy != "Always":
            return ResolvedImage(present.id, image)
        if policy == "Never":
            raise ContainerProblem(
                ERR_IMAGE_NEVER_PULL,
                f'Container image "{image}" is not present with pull policy of Never',
            )
        key = f"{pod_uid}_{image}"
        left = self.backoff.remaining_since_update(key)
        if left > 0:
            raise ContainerProblem(
                IMAGE_PULL_BACKOFF,
                f'Back-off pulling image "{image}": {ERR_IMAGE_PULL}: {self._last_error.get(key, "")}',
                retry_after=left,
            )
        try:
            await self.cri.pull_image(image)
        except errors.CriError as exc:
            if present is not None:
                # Always, yet the registry failed: the kubelet would fail too, but a
                # local image is what a loopback-only machine has; use it.
                log.info("pull of %s failed (%s); using the local image", image, exc.detail)
                return ResolvedImage(present.id, image)
            self.backoff.next(key, self.backoff.clock())
            message = f"rpc error: code = {_go_code(exc.code)} desc = {exc.detail}"
            self._last_error[key] = message
            log.info("pod %s: pulling %s failed: %s", pod_uid, image, message)
            raise ContainerProblem(
                ERR_IMAGE_PULL, message, retry_after=self.backoff.get(key)
            ) from None
        self.backoff.reset(key)
        self._last_error.pop(key, None)
        pulled = await self.cri.image_status(image)
        if pulled is None:
            raise ContainerProblem(ERR_IMAGE_PULL, f'image "{image}" missing right after its pull')
        log.info("pulled image %s (%s)", image, pulled.id)
        return ResolvedImage(pulled.id, image)

    def forget(self, pod_uid: str) -> None:
        self.backoff.forget_prefix(f"{pod_uid}_")
        for key in [k for k in self._last_error if k.startswith(f"{pod_uid}_")]:
            del self._last_error[key]


def _go_code(code: str) -> str:
    """gRPC's Go spelling of a status code name (``NOT_FOUND`` -> ``NotFound``)."""
    special = {"OK": "OK", "DEADLINE_EXCEEDED": "DeadlineExceeded"}
    return special.get(code) or "".join(part.capitalize() for part in code.split("_"))
