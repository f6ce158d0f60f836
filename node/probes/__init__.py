"""Container probes (liveness, readiness, startup) with the kubelet's semantics.

:mod:`.spec` reads a probe from the pod spec with Kubernetes' defaults; :mod:`.handlers`
runs one probe (httpGet, tcpSocket, exec) and words its result as the kubelet does;
:mod:`.worker` keeps one asyncio task per container and probe type and turns runs into
threshold-crossing results; :mod:`.manager` owns a pod's workers and answers "is this
container started / ready?" for the pod status.
"""

from node.probes.handlers import ExecFunc, ProbeOutcome, Prober, Result
from node.probes.manager import PodProbes
from node.probes.spec import ProbeSpec, ProbeType, parse_probe
from node.probes.worker import ContainerSnapshot, ProbeEvent, ProbeUpdate

__all__ = [
    "ContainerSnapshot",
    "ExecFunc",
    "PodProbes",
    "ProbeEvent",
    "ProbeOutcome",
    "ProbeSpec",
    "ProbeType",
    "ProbeUpdate",
    "Prober",
    "Result",
    "parse_probe",
]
