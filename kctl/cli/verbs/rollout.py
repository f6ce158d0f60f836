"""``kctl rollout status|history|undo|restart|pause|resume``: Deployment rollouts, as kubectl.

What each sends (kubectl 1.32's requests, so the server sees the same thing from both):

* ``status``: GET the Deployment, then list+watch it by ``metadata.name`` and print
  kubectl's status line for each change until it is rolled out (``--watch=false``:
  once). The messages and their order are kubectl's ``DeploymentStatusViewer``'s.
* ``history``: the Deployment's ReplicaSets (label selector, then controller
  ownerReference) are its revisions: ``deployment.kubernetes.io/revision`` numbers them,
  ``kubernetes.io/change-cause`` explains them; ``--revision=N`` describes that
  ReplicaSet's pod template.
* ``undo``: JSON patch writing the chosen ReplicaSet's template (without its
  ``pod-template-hash`` label) to ``/spec/template`` and its annotations (minus the
  deployment-controller bookkeeping ones) to ``/metadata/annotations``. kubectl uses a
  ``replace`` op for the annotations; here it is ``add``, which means the same for an
  existing member but also works on a Deployment without annotations.
* ``restart`` / ``pause`` / ``resume``: strategic merge patches (``fieldManager=
  kubectl-rollout``) of ``spec.template.metadata.annotations["kubectl.kubernetes.io/
  restartedAt"]`` and ``spec.paused`` (resume sends ``null``, as kubectl does).

Only Deployments have rollouts in kctl (no DaemonSets or StatefulSets); other kinds get
kubectl's "not implemented"/"not supported" errors. Per-object errors are collected
and reported at the end (:class:`kctl.cli.targets.Failures`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.completion import complete_resources
from kctl.cli.errors import CliError
from kctl.cli.goflags import KubectlCommand

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo
    from kctl.cli.session import Session
    from kctl.cli.targets import Failures, Found

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
HASH_LABEL = "pod-template-hash"
FIELD_MANAGER = "kubectl-rollout"
# Deployment annotations owned by the controller, never copied from a ReplicaSet.
SKIP_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)

rollout = typer.Typer(
    no_args_is_help=True,
    help="Manage the rollout of a Deployment: status, history, undo, restart, pause, resume.",
)
app.add_typer(rollout, name="rollout")

Resources = Annotated[
    list[str] | None,
    typer.Argument(metavar="(TYPE NAME | TYPE/NAME)...", autocompletion=complete_resources),
]
Selector = Annotated[
    str | None, typer.Option("--selector", "-l", help="Label query selecting the objects.")
]
Output = Annotated[
    str | None, typer.Option("--output", "-o", help="name, yaml, json, jsonpath=...: print so.")
]


# --- shared ---------------------------------------------------------------------------------


def _objects(
    resources: list[str] | None, selector: str | None, *, note_empty: bool = True
) -> tuple[Session, list[Found], Failures]:
    """The named objects, and the failures to read some of them. ``note_empty``: say
    "No resources found" when a selection matched nothing (all but history and undo)."""
    from kctl.cli import targets
    from kctl.cli.session import current

    session = current()
    # a bare TYPE means every object of it, as in kubectl's rollout commands
    selection = targets.parse(
        session,
        resources or [],
        selector=selector,
        bare_type_selects_all=True,
        missing="required resource not specified",
    )
    failures = targets.Failures()
    found: list[Found] = []
    for item in targets.visit(session, selection):
        if isinstance(item, Exception):
            failures.add(item)
        else:
            found.append(item)
    if note_empty and not found and not failures and any(r.name is None for r in selection.refs):
        targets.no_resources_found(session, selection)
    return session, found, failures


def _is_deployment(info: ResourceInfo) -> bool:
    return info.group == "apps" and info.kind == "Deployment"


def _group_kind(info: ResourceInfo) -> str:
    return f"{info.kind}.{info.group}" if info.group else info.kind


# --- status ----------------------------------------------------------------------------------


def deployment_status(obj: dict[str, Any], revision: int = 0) -> tuple[str, bool]:
    """kubectl's DeploymentStatusViewer: (message, done); raises when it failed."""
    meta, spec, st = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status") or {}
    name = meta.get("name", "")
    if revision > 0:
        current = _revision_of(obj)
        if current is None:
            raise CliError(f'cannot get the revision of deployment "{name}"')
        if current != revision:
            raise CliError(
                f"desired revision ({revision}) is different from the running revision ({current})"
            )
    if int(meta.get("generation") or 0) > int(st.get("observedGeneration") or 0):
        return "Waiting for deployment spec update to be observed...", False
    for cond in st.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            raise CliError(f'deployment "{name}" exceeded its progress deadline')
    want = spec.get("replicas")
    updated = int(st.get("updatedReplicas") or 0)
    total = int(st.get("replicas") or 0)
    available = int(st.get("availableReplicas") or 0)
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if want is not None and updated < int(want):
        return f"{waiting}{updated} out of {want} new replicas have been updated...", False
    if total > updated:
        return f"{waiting}{total - updated} old replicas are pending termination...", False
    if available < updated:
        return f"{waiting}{available} of {updated} updated replicas are available...", False
    return f'deployment "{name}" successfully rolled out', True


@rollout.command("status", cls=KubectlCommand)
def status(
    resources: Resources = None,
    selector: Selector = None,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch/--no-watch",
            "-w",
            help="Keep watching until the rollout ends (--watch=false: report once).",
        ),
    ] = True,
    revision: Annotated[
        int, typer.Option("--revision", help="Require this revision to be the running one.")
    ] = 0,
    timeout: Annotated[
        str, typer.Option("--timeout", help="Give up after this long (0: wait forever).")
    ] = "0s",
) -> None:
    """Show the status of the rollout, waiting until it finishes."""
    from kctl.api.errors import ApiError
    from kctl.cli.watching import parse_duration

    try:
        seconds = parse_duration(timeout)
    except ValueError as exc:
        raise CliError(f'invalid argument "{timeout}" for "--timeout" flag: {exc}') from None
    session, found, failures = _objects(resources, selector)
    for target in found:
        if not _is_deployment(target.info):
            failures.add(
                CliError(f"no status viewer has been implemented for {_group_kind(target.info)}")
            )
            continue
        try:
            _follow_status(session, target, watch, revision, seconds)
        except (CliError, ApiError) as exc:
            failures.add(exc)
    failures.exit_if_any()


def _follow_status(
    session: Session, target: Found, watch: bool, revision: int, seconds: float
) -> None:
    from kctl.cli.progress import progress
    from kctl.cli.watching import SYNCED, Deadline, follow

    deadline = Deadline(seconds if seconds > 0 else None)
    with progress() as shown:
        shown.note(f"waiting for {target.qualified}")
        events = follow(session.client, target.info, target.namespace, deadline, name=target.name)
        for etype, obj in events:
            if etype == SYNCED:
                continue
            if etype == "DELETED":
                raise CliError("object has been deleted")
            message, done = deployment_status(obj, revision)
            if done or not watch:
                shown.result(message)
                return
            shown.step(message)
    raise CliError("timed out waiting for the condition")


# --- history ---------------------------------------------------------------------------------


def _revision_of(obj: dict[str, Any]) -> int | None:
    """The revision annotation as kubectl reads it: absent is 0, garbage is None."""
    value = (obj.get("metadata", {}).get("annotations") or {}).get(REVISION)
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        return None


def _replica_sets(session: Session, deployment: Found) -> list[dict[str, Any]]:
    """The ReplicaSets this Deployment controls: its selector, then its ownership."""
    from kctl.api.selectors import format_label_selector

    rs_info = session.registry.by_gvk("apps", "v1", "ReplicaSet")
    if rs_info is None:
        return []
    selector = format_label_selector(deployment.obj.get("spec", {}).get("selector") or {})
    listing = session.client.list(rs_info, deployment.namespace, label_selector=selector or None)
    uid = deployment.obj.get("metadata", {}).get("uid")
    owned = []
    for rs in listing.get("items") or []:
        for ref in rs.get("metadata", {}).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("uid") == uid:
                owned.append(rs)
                break
    return owned


def _history(session: Session, deployment: Found) -> dict[int, dict[str, Any]]:
    """revision -> ReplicaSet (later duplicates win, as in kubectl's map)."""
    revisions: dict[int, dict[str, Any]] = {}
    for rs in _replica_sets(session, deployment):
        number = _revision_of(rs)
        if number is not None:
            revisions[number] = rs
    return revisions


def describe_pod_template(template: dict[str, Any]) -> str:
    """describe's ``Pod Template:`` block as ``rollout history`` prints it: kubectl
    writes it through a bare PrefixWriter, so its tabs reach the output unaligned."""
    from kctl.cli.describers.podspec import pod_template_block
    from kctl.cli.describers.writer import PrefixWriter

    class RawWriter(PrefixWriter):
        def __init__(self) -> None:
            super().__init__()
            self.parts: list[str] = []

        def write(self, level: int, text: str) -> None:
            self.parts.append("  " * level + text)

        def line(self, text: str = "") -> None:
            self.parts.append(text + "\n")

        def getvalue(self) -> str:
            return "".join(self.parts)

    writer = RawWriter()
    pod_template_block(writer, template)
    return writer.getvalue()


def _template_with_cause(rs: dict[str, Any]) -> dict[str, Any]:
    """The ReplicaSet's pod template, carrying its change-cause annotation (kubectl shows it)."""
    import copy

    template = copy.deepcopy(rs.get("spec", {}).get("template") or {})
    cause = (rs.get("metadata", {}).get("annotations") or {}).get(CHANGE_CAUSE)
    if cause:
        template.setdefault("metadata", {}).setdefault("annotations", {})[CHANGE_CAUSE] = cause
    return template


@rollout.command("history", cls=KubectlCommand)
def history(
    resources: Resources = None,
    selector: Selector = None,
    revision: Annotated[
        int, typer.Option("--revision", help="Show the pod template of this revision.")
    ] = 0,
) -> None:
    """View the rollout history: one line per revision, or one revision's template."""
    from kctl.api.errors import ApiError
    from kctl.cli.printers.tabwriter import TabWriter

    session, found, failures = _objects(resources, selector, note_empty=False)
    for target in found:
        if not _is_deployment(target.info):
            failures.add(
                CliError(f'no history viewer has been implemented for "{_group_kind(target.info)}"')
            )
            continue
        try:
            revisions = _history(session, target)
        except ApiError as exc:
            failures.add(exc)
            continue
        if not revisions:
            text = "No rollout history found."
        elif revision > 0:
            if revision not in revisions:
                failures.add(CliError("unable to find the specified revision"))
                continue
            text = describe_pod_template(_template_with_cause(revisions[revision]))
        else:
            rows = [["REVISION", "CHANGE-CAUSE"]]
            for number in sorted(revisions):
                cause = (revisions[number].get("metadata", {}).get("annotations") or {}).get(
                    CHANGE_CAUSE
                )
                rows.append([str(number), cause or "<none>"])
            table = TabWriter(minwidth=0, padding=2)  # polymorphichelpers' tabwriter
            table.write(rows)
            text = table.flush()
        with_revision = f"with revision #{revision}" if revision > 0 else ""
        typer.echo(f"{target.qualified} {with_revision}\n{text}")
    failures.exit_if_any()


# --- undo ------------------------------------------------------------------------------------


def _comparable(template: dict[str, Any]) -> Any:
    """A template for equality as Go's semantic DeepEqual sees it, ignoring the hash
    label: unset, null and empty are the same."""

    def prune(value: Any) -> Any:
        if isinstance(value, dict):
            pruned = {k: prune(v) for k, v in value.items()}
            return {k: v for k, v in pruned.items() if v not in (None, {}, [])}
        if isinstance(value, list):
            return [prune(v) for v in value]
        return value

    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels.pop(HASH_LABEL, None)
    meta = {**(template.get("metadata") or {}), "labels": labels}
    return prune({**template, "metadata": meta})


def _rollback_target(session: Session, deployment: Found, to_revision: int) -> dict[str, Any]:
    """The ReplicaSet to go back to: ``to_revision``, or the one before the latest."""
    if to_revision < 0:
        raise CliError(f"unable to find specified revision {to_revision} in history")
    revisions = _history(session, deployment)
    if to_revision > 0:
        if to_revision not in revisions:
            raise CliError(f"unable to find specified revision {to_revision} in history")
        return revisions[to_revision]
    ordered = sorted(revisions)
    if len(ordered) < 2:
        raise CliError(f'no rollout history found for deployment "{deployment.name}"')
    return revisions[ordered[-2]]


def _rollback(session: Session, deployment: Found, to_revision: int, dry_run: str) -> str:
    """Do the undo; the operation word kubectl prints after the object's name."""
    rs = _rollback_target(session, deployment, to_revision)
    template = rs.get("spec", {}).get("template") or {}
    if dry_run == "client":
        return describe_pod_template(template) + " (dry run)"
    spec = deployment.obj.get("spec", {})
    if spec.get("paused"):
        raise CliError(
            "you cannot rollback a paused deployment; resume it first with "
            "'kctl rollout resume' and try again"
        )
    if _comparable(template) == _comparable(spec.get("template") or {}):
        return f"skipped rollback (current template already matches revision {to_revision})"
    restored = {**template, "metadata": dict(template.get("metadata") or {})}
    labels = dict(restored["metadata"].get("labels") or {})
    labels.pop(HASH_LABEL, None)
    restored["metadata"]["labels"] = labels
    current = deployment.obj.get("metadata", {}).get("annotations") or {}
    annotations = {k: v for k, v in current.items() if k in SKIP_ANNOTATIONS}
    annotations.update(
        {
            k: v
            for k, v in (rs.get("metadata", {}).get("annotations") or {}).items()
            if k not in SKIP_ANNOTATIONS
        }
    )
    patch = [
        {"op": "replace", "path": "/spec/template", "value": restored},
        {"op": "add", "path": "/metadata/annotations", "value": annotations},
    ]
    session.client.patch(
        deployment.info,
        deployment.name,
        patch,
        deployment.namespace,
        patch_type="json",
        dry_run=dry_run == "server",
    )
    return "rolled back" + (" (server dry run)" if dry_run == "server" else "")


@rollout.command("undo", cls=KubectlCommand)
def undo(
    resources: Resources = None,
    selector: Selector = None,
    to_revision: Annotated[
        int, typer.Option("--to-revision", help="The revision to go back to (0: the previous one).")
    ] = 0,
    dry_run: Annotated[str, typer.Option("--dry-run", help="none, client or server.")] = "none",
    output: Output = None,
) -> None:
    """Roll back to a previous revision of the pod template."""
    from kctl.api.errors import ApiError
    from kctl.cli.targets import Printer

    printer = Printer(output)
    session, found, failures = _objects(resources, selector, note_empty=False)
    for target in found:
        if not _is_deployment(target.info):
            failures.add(
                CliError(f'no rollbacker has been implemented for "{_group_kind(target.info)}"')
            )
            continue
        try:
            printer.print(target, _rollback(session, target, to_revision, dry_run))
        except (CliError, ApiError) as exc:
            failures.add(exc)
    failures.exit_if_any()


# --- restart / pause / resume ----------------------------------------------------------------


def _now_rfc3339() -> str:
    """Go's ``time.Now().Format(time.RFC3339)``: local time, ``Z`` for UTC."""
    from datetime import datetime, timedelta

    now = datetime.now().astimezone().replace(microsecond=0)
    if now.utcoffset() == timedelta(0):
        return now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return now.isoformat()


def _patch_each(
    resources: list[str] | None,
    selector: str | None,
    output: str | None,
    verb: str,
    operation: str,
    make_patch: Any,
) -> None:
    """restart/pause/resume: one strategic merge patch per Deployment, errors collected.

    ``make_patch(obj)`` returns the patch or raises CliError (already paused...)."""
    from kctl.api.errors import ApiError
    from kctl.cli.targets import Printer

    printer = Printer(output)
    session, found, failures = _objects(resources, selector)
    for target in found:
        where = f'{target.info.resource} "{target.name}"'
        try:
            if not _is_deployment(target.info):
                raise CliError(f"{where} {verb} is not supported")
            patch = make_patch(target.obj, where)
            patched = session.client.patch(
                target.info,
                target.name,
                patch,
                target.namespace,
                patch_type="strategic",
                field_manager=FIELD_MANAGER,
            )
            printer.print(target, operation, patched)
        except CliError as exc:
            failures.add(exc, line=f"error: {exc}")
        except ApiError as exc:
            failures.add(exc)
    failures.exit_if_any()


def _restart_patch(obj: dict[str, Any], where: str) -> dict[str, Any]:
    spec = obj.get("spec", {})
    if spec.get("paused"):
        raise CliError(f"{where} can't restart paused deployment (run rollout resume first)")
    now = _now_rfc3339()
    annotations = (spec.get("template", {}).get("metadata") or {}).get("annotations") or {}
    if annotations.get(RESTARTED_AT) == now:
        raise CliError(
            f"failed to create patch for {obj['metadata']['name']}: if restart has already been "
            "triggered within the past second, please wait before attempting to trigger another"
        )
    return {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}


def _pause_patch(obj: dict[str, Any], where: str) -> dict[str, Any]:
    if obj.get("spec", {}).get("paused"):
        raise CliError(f"{where} is already paused")
    return {"spec": {"paused": True}}


def _resume_patch(obj: dict[str, Any], where: str) -> dict[str, Any]:
    if not obj.get("spec", {}).get("paused"):
        raise CliError(f"{where} is not paused")
    return {"spec": {"paused": None}}


@rollout.command("restart", cls=KubectlCommand)
def restart(resources: Resources = None, selector: Selector = None, output: Output = None) -> None:
    """Restart the pods: stamp the pod template with the time, so a new rollout starts."""
    _patch_each(resources, selector, output, "restarting", "restarted", _restart_patch)


@rollout.command("pause", cls=KubectlCommand)
def pause(resources: Resources = None, selector: Selector = None, output: Output = None) -> None:
    """Mark the Deployment as paused: template changes do not roll out until resumed."""
    _patch_each(resources, selector, output, "pausing", "paused", _pause_patch)


@rollout.command("resume", cls=KubectlCommand)
def resume(resources: Resources = None, selector: Selector = None, output: Output = None) -> None:
    """Resume a paused Deployment."""
    _patch_each(resources, selector, output, "resuming", "resumed", _resume_patch)
