"""``kctl apply -f FILE|DIR|-``: server-side apply, all or nothing, in parallel.

How it differs from ``kubectl apply`` and why:

* **Server-side apply** (``application/apply-patch+yaml``, field manager ``kctl``): the
  server merges and tracks field ownership, so there is no last-applied annotation and
  no GET before each write. The output is still client-side apply's, the one people
  know: ``deployment.apps/web created|configured|unchanged`` (``unchanged`` when the
  resourceVersion did not move), or ``serverside-applied`` with ``--server-side``.
* **Nothing is written until everything passed.** Every document is checked locally
  (kind, namespace, name, the kind's schema and rules: the same validator the server
  runs), then every one that would change something by the server's admission through
  a dry run (``dryRun=All``); one bad document fails the command with the store
  untouched, where kubectl would have applied the documents before it. An object in a
  namespace that this very input creates cannot be tried there before the namespace
  exists, so it is tried as a create in an existing one: admission does not depend on
  the namespace's name.
* **Fast.** An object the server's own apply code (:mod:`kctl.api.apply`, run here over
  the live object) shows unchanged costs no request at all. The other requests of a
  phase go out from a pool of threads, each with its own client (its own keep-alive
  connection); objects are written in dependency groups (:mod:`kctl.cli.manifests`),
  each group in parallel after the one before it finished, and a dry run whose result
  equals the live object is not followed by a write. The live objects are read while
  the local checks run.
* ``--prune -l SELECTOR`` deletes, in the namespaces applied to, the objects of the
  applied kinds (and kubectl's default prune kinds) that carry the selector, were
  applied by this field manager, and are no longer in the input.
* ``--wait`` follows every applied Deployment, ReplicaSet and Pod until it is available
  (rollout status's rules) or ready, with a live table on a terminal and kubectl's
  rollout lines otherwise.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from kctl.cli.app import app
from kctl.cli.errors import CliError
from kctl.cli.goflags import KubectlCommand

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from kctl.api.kinds import ResourceInfo
    from kctl.cli.manifests import Manifest
    from kctl.cli.session import Session
    from kctl.client.http import Client
    from kctl.client.kubeconfig import ClientConfig

FIELD_MANAGER = "kctl"
WORKERS = 8  # parallel requests: measured best on 2 cores against a local server
LIST_AT = 10  # objects of one kind and namespace from which one LIST beats a GET each
DRY_RUN_MODES = ("none", "client", "server")
VALIDATE_MODES = {
    "true": "Strict",
    "strict": "Strict",
    "warn": "Warn",
    "false": "Ignore",
    "ignore": "Ignore",
}
# kubectl's default --prune allowlist, as (group, kind); only the served ones are used.
PRUNE_KINDS = frozenset(
    {
        ("", "ConfigMap"),
        ("", "Endpoints"),
        ("", "Namespace"),
        ("", "PersistentVolumeClaim"),
        ("", "PersistentVolume"),
        ("", "Pod"),
        ("", "ReplicationController"),
        ("", "Secret"),
        ("", "Service"),
        ("batch", "Job"),
        ("batch", "CronJob"),
        ("networking.k8s.io", "Ingress"),
        ("apps", "DaemonSet"),
        ("apps", "Deployment"),
        ("apps", "ReplicaSet"),
        ("apps", "StatefulSet"),
    }
)
CONFLICT_ADVICE = """Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
* If you do not intend to manage all of the fields, please edit your
  manifest to remove references to the fields that should keep their
  current managers.
* You may co-own fields by updating your manifest to match the existing
  value; in this case, you'll become the manager if the other manager(s)
  stop managing the field (remove it from their configuration)."""
CONFLICT_LINK = "See https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts"

T = TypeVar("T")
R = TypeVar("R")
Key = tuple[str, str, str]


@app.command("apply", cls=KubectlCommand)
def apply_command(
    filename: Annotated[
        list[str] | None,
        typer.Option("--filename", "-f", help="File, directory or - (stdin) to apply; repeatable."),
    ] = None,
    recursive: Annotated[
        bool, typer.Option("--recursive", "-R", help="Process directories recursively.")
    ] = False,
    selector: Annotated[
        str | None,
        typer.Option("--selector", "-l", help="Only apply (and prune) objects with these labels."),
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Delete applied-by-kctl objects (-l or --all) not in the input."
        ),
    ] = False,
    all_: Annotated[
        bool, typer.Option("--all", help="With --prune: prune whatever the labels.")
    ] = False,
    dry_run: Annotated[
        str, typer.Option("--dry-run", help="none, client or server: only show what would happen.")
    ] = "none",
    force_conflicts: Annotated[
        bool, typer.Option("--force-conflicts", help="Take ownership of fields other managers own.")
    ] = False,
    server_side: Annotated[
        bool,
        typer.Option(
            "--server-side", help="Accepted for kubectl; kctl always applies server-side."
        ),
    ] = False,
    field_manager: Annotated[
        str, typer.Option("--field-manager", help="Name of the manager owning the applied fields.")
    ] = FIELD_MANAGER,
    validate: Annotated[
        str, typer.Option("--validate", help="strict (true), warn, or ignore (false).")
    ] = "strict",
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="Wait until applied Deployments, ReplicaSets and Pods are ready."
        ),
    ] = False,
    timeout: Annotated[
        str, typer.Option("--timeout", help="How long --wait waits (0: forever).")
    ] = "5m",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="name, yaml or json.")
    ] = None,
) -> None:
    """Apply a configuration to resources from files, a directory or stdin (server-side apply)."""
    from kctl.cli.session import current

    options = Options.parse(
        dry_run=dry_run,
        validate=validate,
        output=output,
        timeout=timeout,
        wait=wait,
        force=force_conflicts,
        manager=field_manager,
        server_side=server_side,
    )
    if not filename:
        raise CliError("must specify one of -f and -k")
    if prune and not selector and not all_:
        raise CliError(
            "all resources selected for prune without explicitly passing --all. To prune all "
            "resources, pass the --all flag. If you did not mean to prune all resources, "
            "specify a label selector"
        )
    session = current()
    manifests = read_manifests(session, filename, recursive, selector)
    if not manifests:
        raise CliError("no objects passed to apply")
    raise typer.Exit(Applier(session, options).run(manifests, prune=prune, selector=selector))


# --- options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    dry_run: str = "none"
    field_validation: str = "Strict"
    output: str = ""
    timeout: float | None = None
    wait: bool = False
    force: bool = False
    manager: str = FIELD_MANAGER
    server_side: bool = False

    @classmethod
    def parse(
        cls, *, dry_run: str, validate: str, output: str | None, timeout: str, **rest: Any
    ) -> Options:
        if dry_run == "unchanged":
            dry_run = "client"  # kubectl's bare --dry-run
        if dry_run not in DRY_RUN_MODES:
            raise CliError(
                f'Invalid dry-run value ({dry_run}). Must be "none", "server", or "client".'
            )
        if validate.lower() not in VALIDATE_MODES:
            raise CliError(
                f'invalid - validate option "{validate}"; must be one of: strict (or true), '
                "warn, ignore (or false)"
            )
        if output not in (None, "", "name", "yaml", "json"):
            raise CliError(
                f'unable to match a printer suitable for the output format "{output}", '
                "allowed formats are: json,name,yaml"
            )
        return cls(
            dry_run=dry_run,
            field_validation=VALIDATE_MODES[validate.lower()],
            output=output or "",
            timeout=parse_timeout(timeout),
            **rest,
        )

    @property
    def suffix(self) -> str:
        return {"client": " (dry run)", "server": " (server dry run)"}.get(self.dry_run, "")


def parse_timeout(text: str) -> float | None:
    """``--timeout``: a Go duration; 0 means no limit (None)."""
    from kctl.cli.watching import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise CliError(f'invalid argument "{text}" for "--timeout" flag: {exc}') from None
    return seconds if seconds > 0 else None


def read_manifests(
    session: Session, paths: Iterable[str], recursive: bool, selector: str | None = None
) -> list[Manifest]:
    """Load, bind to kinds and namespaces, keep those matching ``selector``."""
    from kctl.cli import manifests

    docs = manifests.load(paths, recursive=recursive)
    bound = manifests.bind(
        docs,
        session.registry,
        session.namespace,
        explicit_namespace=session.flags.namespace,
    )
    if selector:
        from kctl.api.errors import ApiError
        from kctl.api.selectors import parse_label_selector

        try:
            wanted = parse_label_selector(selector)
        except ApiError as exc:
            raise CliError(str(exc)) from None
        bound = [m for m in bound if wanted.matches((m.obj.get("metadata") or {}).get("labels"))]
    return bound


# --- parallel requests --------------------------------------------------------------------


class Workers:
    """A thread pool whose threads each own a :class:`Client`: one keep-alive connection
    per thread, so N requests are really in flight at once. ``run`` returns results and
    exceptions in the order of the items (exceptions are returned, not raised, so one
    failure does not hide the others)."""

    def __init__(self, config: ClientConfig, size: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._config = config
        self._local = threading.local()
        self._clients: list[Client] = []
        self._warned: set[str] = set()
        self._guard = threading.Lock()
        self._pool: ThreadPoolExecutor = ThreadPoolExecutor(
            max_workers=max(1, size), thread_name_prefix="kctl-apply"
        )
        self._side: ThreadPoolExecutor = ThreadPoolExecutor(max_workers=1)

    def client(self) -> Client:
        found: Client | None = getattr(self._local, "client", None)
        if found is None:
            from kctl.client.http import Client

            found = Client(self._config, user_agent="kctl", on_warning=self._warn)
            self._local.client = found
            with self._guard:
                self._clients.append(found)
        return found

    def _warn(self, text: str) -> None:
        """The server's ``Warning`` headers, as kubectl prints them (each once: a dry run
        and its write warn alike)."""
        with self._guard:
            if text in self._warned:
                return
            self._warned.add(text)
        print(f"Warning: {text}", file=sys.stderr)

    def run(self, fn: Callable[[Client, T], R], items: Sequence[T]) -> list[R | Exception]:
        def call(item: T) -> R | Exception:
            try:
                return fn(self.client(), item)
            except Exception as exc:  # returned to the caller, which reports it
                return exc

        return list(self._pool.map(call, items))

    def background(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """Run ``fn(*args)`` beside the caller (it may itself use :meth:`run`)."""
        return self._side.submit(fn, *args)

    def close(self) -> None:
        self._side.shutdown(wait=True)
        self._pool.shutdown(wait=True)
        for client in self._clients:
            client.close()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- the phases ---------------------------------------------------------------------------


@dataclass
class Rejection:
    """Why one document cannot be applied; ``creating`` says whether the object was new
    (None: not known, the rejection came before asking the server)."""

    manifest: Manifest
    error: Exception
    creating: bool | None = None

    def render(self, *, as_apply: bool = True) -> str:
        """kubectl's message plus the document it is about. ``as_apply``: worded as
        ``kubectl apply`` words it (``error when creating "FILE": ...``, the
        field-conflict advice); otherwise as ``kubectl diff`` (the server's message)."""
        from kctl.api.errors import ApiError, Invalid
        from kctl.cli.errors import format_api_error

        err = self.error
        if not isinstance(err, ApiError):
            text = f"error: {err}"
        elif as_apply and _is_field_conflict(err):
            text = f"error: {err}\n{CONFLICT_ADVICE}\n{CONFLICT_LINK}"
        elif as_apply and self.creating is not None and not isinstance(err, Invalid):
            verb = "creating" if self.creating else "patching"
            where = f'error when {verb} "{self.manifest.doc.source}": {err.message}'
            text = format_api_error(type(err)(where, err.details))
        else:
            text = format_api_error(err)
        return f"{text}\n  in {self.manifest.doc.where} ({self.manifest.qualified})"


def _is_field_conflict(err: Any) -> bool:
    causes = (getattr(err, "details", None) or {}).get("causes") or []
    return getattr(err, "reason", "") == "Conflict" and any(
        "FieldManagerConflict" in (c.get("reason"), c.get("type")) for c in causes
    )


@dataclass
class Outcome:
    manifest: Manifest
    obj: dict[str, Any]
    operation: str  # created | configured | unchanged | serverside-applied


def check_locally(manifests: Sequence[Manifest], field_validation: str) -> list[Rejection]:
    """What the server's admission would reject, found without asking it: a missing
    name, schema and semantic errors, unknown fields (strict)."""
    import orjson

    from kctl.api.defaults import apply_defaults
    from kctl.api.validation import Validator

    validator = Validator()
    rejected: list[Rejection] = []
    for m in manifests:
        if not m.name:
            rejected.append(Rejection(m, CliError(_empty_name(m))))
            continue
        if field_validation == "Ignore":
            continue
        obj = orjson.loads(orjson.dumps(m.body()))
        if m.info.subresource("status"):
            obj.pop("status", None)  # the main resource never writes status
        apply_defaults(m.info, obj)
        result = validator.validate(m.info, obj, strict=field_validation == "Strict")
        error = result.error(m.info, m.name, strict=field_validation == "Strict")
        if error is not None:
            rejected.append(Rejection(m, error))
    return rejected


def _empty_name(m: Manifest) -> str:
    gv = f"{m.info.group}/{m.info.version}" if m.info.group else f"/{m.info.version}"
    return (
        "error when retrieving current configuration of:\n"
        f'Resource: "{gv}, Resource={m.info.plural}", GroupVersionKind: "{gv}, Kind={m.info.kind}"\n'
        f'Name: "", Namespace: "{m.namespace or ""}"\n'
        f'from server for: "{m.doc.source}": resource name may not be empty'
    )


def fetch_live(workers: Workers, manifests: Sequence[Manifest]) -> dict[Key, dict[str, Any] | None]:
    """The current object (or None) for every manifest: one LIST per kind and namespace
    with many objects, a GET each otherwise. Errors other than NotFound raise."""
    from kctl.api.errors import NotFound

    scopes: dict[tuple[ResourceInfo, str | None], list[Manifest]] = {}
    for m in manifests:
        scopes.setdefault((m.info, m.namespace), []).append(m)
    jobs: list[tuple[ResourceInfo, str | None, Manifest | None]] = []
    for (info, ns), members in scopes.items():
        if len(members) >= LIST_AT:
            jobs.append((info, ns, None))
        else:
            jobs.extend((info, ns, m) for m in members)

    def fetch(client: Client, job: tuple[ResourceInfo, str | None, Manifest | None]) -> Any:
        info, ns, m = job
        if m is None:
            return client.list(info, ns).get("items") or []
        try:
            return client.get(info, m.name, ns)
        except NotFound:
            return None

    live: dict[Key, dict[str, Any] | None] = {m.key: None for m in manifests}
    for job, result in zip(jobs, workers.run(fetch, jobs), strict=True):
        if isinstance(result, Exception):
            raise result
        info, ns, one = job
        if one is not None:
            live[one.key] = result
            continue
        for item in result:
            key = (info.resource, ns or "", str(item.get("metadata", {}).get("name", "")))
            if key in live:
                live[key] = item
    return live


def _apply_request(
    client: Client, m: Manifest, options: Options, *, dry_run: bool, namespace: str | None = None
) -> dict[str, Any]:
    body = m.body()
    ns = namespace or m.namespace
    if namespace:
        body["metadata"]["namespace"] = namespace
    result: dict[str, Any] = client.patch(
        m.info,
        m.name,
        body,
        ns,
        patch_type="apply",
        field_manager=options.manager,
        force=options.force,
        dry_run=dry_run,
        field_validation=options.field_validation,
    )
    return result


def plan(
    workers: Workers,
    manifests: Sequence[Manifest],
    live: dict[Key, dict[str, Any] | None],
    options: Options,
) -> tuple[dict[Key, dict[str, Any]], list[Rejection]]:
    """What applying would make of each object, or why it cannot: the live object for
    those :func:`unchanged_locally` settles, the server's dry run for the others."""
    settled = {m.key for m in manifests if unchanged_locally(m, live[m.key], options)}
    pending = [m for m in manifests if m.key not in settled]
    planned, rejected = dry_run_all(workers, pending, live, options)
    for key in settled:
        current = live[key]
        if current is not None:
            planned[key] = current
    return planned, rejected


def dry_run_all(
    workers: Workers,
    manifests: Sequence[Manifest],
    live: dict[Key, dict[str, Any] | None],
    options: Options,
) -> tuple[dict[Key, dict[str, Any]], list[Rejection]]:
    """The server's answer to each apply as a dry run: the object it would store, or
    why it refuses. An object in a namespace this input creates is tried as a create in
    a stand-in namespace, unless an object of that name lives there (the dry run would
    then be an update of that one): only the local checks vouch for it then."""
    created_namespaces = {
        m.name for m in manifests if m.info.resource == "namespaces" and live[m.key] is None
    }
    stand_in = _stand_in_namespace(workers.client()) if created_namespaces else None

    def one(client: Client, m: Manifest) -> dict[str, Any] | None:
        namespace = None
        if m.namespace in created_namespaces:
            if stand_in is None or _exists(client, m.info, m.name, stand_in):
                return None  # nowhere to try it as a create: the local checks have to do
            namespace = stand_in
        result = _apply_request(client, m, options, dry_run=True, namespace=namespace)
        if namespace:
            result.setdefault("metadata", {})["namespace"] = m.namespace
        return result

    planned: dict[Key, dict[str, Any]] = {}
    rejected: list[Rejection] = []
    for m, result in zip(manifests, workers.run(one, manifests), strict=True):
        if isinstance(result, Exception):
            rejected.append(Rejection(m, result, live[m.key] is None))
        else:
            planned[m.key] = result if result is not None else m.body()
    return planned, rejected


def _exists(client: Client, info: ResourceInfo, name: str, namespace: str) -> bool:
    from kctl.api.errors import NotFound

    try:
        client.get(info, name, namespace)
    except NotFound:
        return False
    return True


def _stand_in_namespace(client: Client) -> str | None:
    """An existing, active namespace to dry-run objects of not-yet-created ones in."""
    from kctl.api.kinds import default_registry

    info = default_registry().by_gvk("", "v1", "Namespace")
    if info is None:
        return None
    items = client.list(info).get("items") or []
    active = [
        str(ns["metadata"]["name"])
        for ns in items
        if not ns.get("metadata", {}).get("deletionTimestamp")
    ]
    if "default" in active:
        return "default"
    return active[0] if active else None


def unchanged_locally(m: Manifest, live: dict[str, Any] | None, options: Options) -> bool:
    """Would applying ``m`` over ``live`` change nothing at all? Answered with the
    server's own apply code (:func:`kctl.api.apply.apply`), so an unchanged object
    costs no request: nothing that is not written needs the server's admission. Any
    doubt (a conflict, an error, a difference, status aside) answers False, and the
    object takes the normal way: dry run, then apply."""
    if live is None:
        return False
    import orjson

    from kctl.api import meta
    from kctl.api.apply import apply as server_side_apply

    try:
        merged = server_side_apply(
            orjson.loads(orjson.dumps(live)),
            m.body(),
            options.manager,
            m.info.api_version,
            m.info.schema_node(),
            options.force,
            meta.now_rfc3339(),
        )
    except Exception:
        return False
    if m.info.subresource("status"):  # status never changes through the main resource
        merged.pop("status", None)
        if "status" in live:
            merged["status"] = live["status"]
    return same_object(merged, live)


def same_object(a: dict[str, Any] | None, b: dict[str, Any] | None) -> bool:
    """Equal but for managedFields timestamps (which alone are no change)."""
    if a is None or b is None:
        return False
    return _comparable(a) == _comparable(b)


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    md = dict(obj.get("metadata") or {})
    md["managedFields"] = [
        {k: v for k, v in entry.items() if k != "time"} for entry in md.get("managedFields") or []
    ]
    return {**obj, "metadata": md}


def write_all(
    workers: Workers,
    manifests: Sequence[Manifest],
    live: dict[Key, dict[str, Any] | None],
    planned: dict[Key, dict[str, Any]],
    options: Options,
) -> tuple[list[Outcome], list[Rejection]]:
    """Apply each dependency group in parallel, one group after the other; objects the
    dry run showed unchanged are not sent."""
    from kctl.cli.manifests import dependency_groups

    outcomes: list[Outcome] = []
    failed: list[Rejection] = []

    def one(client: Client, m: Manifest) -> dict[str, Any]:
        if same_object(planned.get(m.key), live[m.key]):
            current = live[m.key]
            assert current is not None
            return current
        return _apply_request(client, m, options, dry_run=False)

    for group in dependency_groups(manifests):
        for m, result in zip(group, workers.run(one, group), strict=True):
            if isinstance(result, Exception):
                failed.append(Rejection(m, result, live[m.key] is None))
                continue
            outcomes.append(Outcome(m, result, _operation(live[m.key], result, options)))
    return outcomes, failed


def _operation(before: dict[str, Any] | None, after: dict[str, Any], options: Options) -> str:
    if options.server_side:
        return "serverside-applied"
    if before is None:
        return "created"
    old = before.get("metadata", {}).get("resourceVersion")
    return "unchanged" if old == after.get("metadata", {}).get("resourceVersion") else "configured"


# --- prune ----------------------------------------------------------------------------------


def managed_by(obj: dict[str, Any], manager: str) -> bool:
    """Was this object applied (server-side) by ``manager``?"""
    return any(
        e.get("manager") == manager and e.get("operation") == "Apply"
        for e in obj.get("metadata", {}).get("managedFields") or []
    )


def prune_candidates(
    workers: Workers,
    session: Session,
    applied: Sequence[Manifest],
    selector: str | None,
    manager: str,
) -> list[tuple[ResourceInfo, dict[str, Any]]]:
    """Objects to prune: in the namespaces applied to, of the applied kinds and the
    default prune kinds, carrying ``selector``, applied by ``manager``, not applied now."""
    from kctl.cli.manifests import rank

    kinds = {m.info for m in applied}
    kinds.update(i for i in session.registry if (i.group, i.kind) in PRUNE_KINDS)
    namespaces = sorted({m.namespace for m in applied if m.namespace})
    scopes = [
        (info, ns)
        for info in sorted(kinds, key=lambda i: (rank(i), i.resource))
        for ns in (namespaces if info.namespaced else [None])
    ]

    def listing(client: Client, scope: tuple[ResourceInfo, str | None]) -> list[dict[str, Any]]:
        info, ns = scope
        items: list[dict[str, Any]] = (
            client.list(info, ns, label_selector=selector).get("items") or []
        )
        return items

    keep = {m.key for m in applied}
    found: list[tuple[ResourceInfo, dict[str, Any]]] = []
    for (info, _ns), result in zip(scopes, workers.run(listing, scopes), strict=True):
        if isinstance(result, Exception):
            raise result
        for obj in result:
            md = obj.get("metadata", {})
            key = (
                info.resource,
                md.get("namespace", "") if info.namespaced else "",
                md.get("name", ""),
            )
            if key not in keep and not md.get("deletionTimestamp") and managed_by(obj, manager):
                found.append((info, obj))
    found.sort(key=lambda pair: -rank(pair[0]))  # dependents first
    return found


def prune_objects(
    workers: Workers, candidates: Sequence[tuple[ResourceInfo, dict[str, Any]]], options: Options
) -> tuple[list[str], list[Exception]]:
    from kctl.api.errors import NotFound
    from kctl.cli.targets import qualified_name

    def delete(client: Client, pair: tuple[ResourceInfo, dict[str, Any]]) -> str | None:
        info, obj = pair
        md = obj["metadata"]
        if options.dry_run != "client":
            try:
                client.delete(
                    info,
                    md["name"],
                    md.get("namespace"),
                    propagation_policy="Background",
                    dry_run=options.dry_run == "server",
                )
            except NotFound:
                return None  # gone already
        return f"{qualified_name(info, md['name'])} pruned{options.suffix}"

    lines: list[str] = []
    errors: list[Exception] = []
    for result in workers.run(delete, candidates):
        if isinstance(result, Exception):
            errors.append(result)
        elif result:
            lines.append(result)
    return lines, errors


# --- the command's sequence ------------------------------------------------------------------


class Applier:
    """The phases in order; :meth:`run` returns the exit code."""

    def __init__(self, session: Session, options: Options) -> None:
        self.session = session
        self.options = options

    def run(self, manifests: list[Manifest], *, prune: bool, selector: str | None) -> int:
        from kctl.cli.manifests import dependency_order

        options = self.options
        manifests = dependency_order(manifests)
        with Workers(self.session.config, min(WORKERS, len(manifests))) as workers:
            # Reading the live objects needs no checks: it overlaps the local ones.
            live_later = workers.background(fetch_live, workers, manifests)
            rejected = check_locally(manifests, options.field_validation)
            if rejected:
                return report_rejections(rejected, len(manifests))
            live = live_later.result()
            outcomes, failed, rejected = self._apply(workers, manifests, live)
            if rejected:
                return report_rejections(rejected, len(manifests))
            print_outcomes(outcomes, options)
            errors: list[Exception] = []
            if prune:
                candidates = prune_candidates(
                    workers, self.session, manifests, selector, options.manager
                )
                lines, errors = prune_objects(workers, candidates, options)
                for line in lines:
                    print(line if options.output != "name" else line.rsplit(" pruned", 1)[0])
        code = 0
        for rejection in failed:
            print(rejection.render(), file=sys.stderr)
            code = 1
        for exc in errors:
            print(_render(exc), file=sys.stderr)
            code = 1
        if options.wait and options.dry_run == "none" and not failed:
            from kctl.cli.watching import Deadline

            code = max(code, wait_ready(self.session.config, outcomes, Deadline(options.timeout)))
        return code

    def _apply(
        self, workers: Workers, manifests: Sequence[Manifest], live: dict[Key, Any]
    ) -> tuple[list[Outcome], list[Rejection], list[Rejection]]:
        """(outcomes, write failures, dry-run rejections) for the dry-run mode asked."""
        options = self.options
        if options.dry_run == "client":
            return (
                [
                    Outcome(m, m.body(), "created" if live[m.key] is None else "configured")
                    for m in manifests
                ],
                [],
                [],
            )
        planned, rejected = plan(workers, manifests, live, options)
        if rejected:
            return [], [], rejected
        if options.dry_run == "server":
            return (
                [
                    Outcome(
                        m, planned[m.key], _planned_operation(live[m.key], planned[m.key], options)
                    )
                    for m in manifests
                ],
                [],
                [],
            )
        outcomes, failed = write_all(workers, manifests, live, planned, options)
        return outcomes, failed, []


def _planned_operation(
    before: dict[str, Any] | None, planned: dict[str, Any], options: Options
) -> str:
    if options.server_side:
        return "serverside-applied"
    if before is None:
        return "created"
    return "unchanged" if same_object(before, planned) else "configured"


def _render(exc: Exception) -> str:
    from kctl.api.errors import ApiError
    from kctl.cli.errors import format_api_error

    return format_api_error(exc) if isinstance(exc, ApiError) else f"error: {exc}"


def report_rejections(rejected: Sequence[Rejection], total: int) -> int:
    for rejection in rejected:
        print(rejection.render(), file=sys.stderr)
    noun = "object" if total == 1 else "objects"
    print(
        f"error: nothing was applied: {len(rejected)} of {total} {noun} rejected",
        file=sys.stderr,
    )
    return 1


def strip_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """What kubectl prints: the object without ``metadata.managedFields``."""
    md = obj.get("metadata")
    if not isinstance(md, dict) or "managedFields" not in md:
        return obj
    return {**obj, "metadata": {k: v for k, v in md.items() if k != "managedFields"}}


def print_outcomes(outcomes: Sequence[Outcome], options: Options) -> None:
    out = sys.stdout
    if options.output in ("yaml", "json"):
        objects = [strip_managed_fields(o.obj) for o in outcomes]
        out.write(render_objects(objects, options.output))
        return
    for o in outcomes:
        if options.output == "name":
            out.write(o.manifest.qualified + "\n")
        else:
            out.write(f"{o.manifest.qualified} {o.operation}{options.suffix}\n")
    out.flush()


def render_objects(objects: Sequence[dict[str, Any]], fmt: str) -> str:
    """One object as itself, several as a ``List`` (kubectl's -o yaml|json)."""
    from kctl.cli.printers import json as json_printer
    from kctl.cli.printers import yaml as yaml_printer

    if fmt == "json":
        if len(objects) == 1:
            return json_printer.dumps(objects[0])
        inner = json_printer.dumps(list(objects)).rstrip("\n")
        inner = inner.replace("\n", "\n    ")
        return (
            '{\n    "kind": "List",\n    "apiVersion": "v1",\n    "metadata": {},\n'
            f'    "items": {inner}\n}}\n'
        )
    if len(objects) == 1:
        return yaml_printer.dumps(objects[0])
    return yaml_printer.dumps(
        {"apiVersion": "v1", "items": list(objects), "kind": "List", "metadata": {}}
    )


# --- --wait -------------------------------------------------------------------------------------


@dataclass
class Awaited:
    """One object --wait follows, and what it last said."""

    info: ResourceInfo
    namespace: str | None
    name: str
    text: str = "Waiting..."
    done: bool = False
    failed: bool = False

    @property
    def label(self) -> str:
        from kctl.cli.targets import qualified_name

        return qualified_name(self.info, self.name)


def readiness(info: ResourceInfo, obj: dict[str, Any]) -> tuple[str, bool]:
    """(message, done) for a Deployment, ReplicaSet or Pod; raises CliError on failure."""
    name = obj.get("metadata", {}).get("name", "")
    if info.kind == "Deployment":
        from kctl.cli.verbs.rollout import deployment_status

        return deployment_status(obj)
    if info.kind == "ReplicaSet":
        meta, st = obj.get("metadata", {}), obj.get("status") or {}
        want = int((obj.get("spec") or {}).get("replicas", 1) or 0)
        available = int(st.get("availableReplicas") or 0)
        if int(meta.get("generation") or 0) > int(st.get("observedGeneration") or 0):
            return "Waiting for replicaset spec update to be observed...", False
        if available < want:
            return (
                f'Waiting for replicaset "{name}" to be available: '
                f"{available} of {want} replicas are available...",
                False,
            )
        return f'replicaset "{name}" is available', True
    st = obj.get("status") or {}
    phase = st.get("phase")
    if phase == "Succeeded":
        return f'pod "{name}" has completed', True
    if phase == "Failed":
        raise CliError(f'pod "{name}" failed')
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or []
    )
    if ready:
        return f'pod "{name}" is ready', True
    return f'Waiting for pod "{name}" to be ready...', False


WAITABLE = frozenset({("apps", "Deployment"), ("apps", "ReplicaSet"), ("", "Pod")})


def wait_ready(config: ClientConfig, outcomes: Sequence[Outcome], deadline: Any) -> int:
    """Follow every waitable applied object until ready; 0, or 1 after printing why not."""
    import queue

    targets = {
        o.manifest.key: Awaited(o.manifest.info, o.manifest.namespace, o.manifest.name)
        for o in outcomes
        if (o.manifest.info.group, o.manifest.info.kind) in WAITABLE
    }
    if not targets:
        return 0
    events: queue.Queue[tuple[str, dict[str, Any]] | Exception] = queue.Queue()
    scopes: dict[tuple[ResourceInfo, str | None], set[str]] = {}
    for t in targets.values():
        scopes.setdefault((t.info, t.namespace), set()).add(t.name)
    for (info, ns), names in scopes.items():
        threading.Thread(
            target=_follow_into,
            args=(config, info, ns, names, deadline, events),
            daemon=True,
        ).start()
    display = make_display(list(targets.values()))
    try:
        while any(not t.done and not t.failed for t in targets.values()) and not deadline.expired:
            left = deadline.remaining()
            try:
                item = events.get(timeout=0.5 if left is None else max(0.05, min(0.5, left)))
            except queue.Empty:
                display.refresh()
                continue
            if isinstance(item, Exception):
                raise item
            etype, obj = item
            md = obj.get("metadata", {})
            for t in targets.values():
                if t.done or t.failed or t.name != md.get("name"):
                    continue
                if t.namespace and t.namespace != md.get("namespace"):
                    continue
                if obj.get("kind") and obj.get("kind") != t.info.kind:
                    continue
                _update(t, etype, obj)
                display.update(t)
    finally:
        display.close()
    code = 0
    for t in targets.values():
        if t.failed:
            print(f"error: {t.text}", file=sys.stderr)
            code = 1
        elif not t.done:
            print(
                f"error: timed out waiting for the condition on {t.info.plural}/{t.name}",
                file=sys.stderr,
            )
            code = 1
    return code


def _update(t: Awaited, etype: str, obj: dict[str, Any]) -> None:
    if etype == "DELETED":
        t.text, t.failed = f"{t.label} was deleted while waiting", True
        return
    try:
        t.text, t.done = readiness(t.info, obj)
    except CliError as exc:
        t.text, t.failed = str(exc), True


def _follow_into(
    config: ClientConfig,
    info: ResourceInfo,
    namespace: str | None,
    names: set[str],
    deadline: Any,
    events: Any,
) -> None:
    """Thread body: list+watch one kind in one namespace, queueing the awaited objects'
    events (each object's kind is filled in: watch events may lack it)."""
    from kctl.cli.watching import SYNCED, follow
    from kctl.client.http import Client

    try:
        with Client(config, user_agent="kctl") as client:
            for etype, obj in follow(client, info, namespace, deadline):
                if etype == SYNCED or obj.get("metadata", {}).get("name") not in names:
                    continue
                obj.setdefault("kind", info.kind)
                events.put((etype, obj))
    except Exception as exc:  # handed to the waiting thread, which reports it
        events.put(exc)


class PlainDisplay:
    """Not a terminal: kubectl's lines, one per change of an object's state."""

    def __init__(self, targets: Sequence[Awaited]) -> None:
        self.last: dict[int, str] = {}

    def update(self, t: Awaited) -> None:
        if t.failed or self.last.get(id(t)) == t.text:
            return
        self.last[id(t)] = t.text
        sys.stdout.write(t.text + "\n")
        sys.stdout.flush()

    def refresh(self) -> None:
        """Nothing moves in plain mode."""

    def close(self) -> None:
        """Nothing to tear down."""


class LiveDisplay(PlainDisplay):
    """A terminal: a live table (object, state, elapsed time), erased at the end and
    replaced by the final line of each object."""

    def __init__(self, targets: Sequence[Awaited]) -> None:
        import time

        from rich.console import Console
        from rich.live import Live

        super().__init__(targets)
        self.targets = list(targets)
        self.start = time.monotonic()
        self.live = Live(
            get_renderable=self._table, console=Console(), refresh_per_second=8, transient=True
        )
        self.live.start()

    def _table(self) -> Any:
        import time

        from rich.markup import escape
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        elapsed = int(time.monotonic() - self.start)
        for t in self.targets:
            mark: Any = (
                "[green]✓[/green]" if t.done else "[red]✗[/red]" if t.failed else Spinner("dots")
            )
            table.add_row(mark, escape(t.label), escape(t.text))
        table.add_row("", f"[dim]{elapsed}s[/dim]", "")
        return table

    def update(self, t: Awaited) -> None:
        self.live.refresh()

    def refresh(self) -> None:
        self.live.refresh()

    def close(self) -> None:
        if self.live.is_started:
            self.live.stop()
        for t in self.targets:
            if t.done:
                sys.stdout.write(t.text + "\n")
        sys.stdout.flush()


def make_display(targets: Sequence[Awaited]) -> PlainDisplay:
    from kctl.cli.progress import is_live_terminal

    return LiveDisplay(targets) if is_live_terminal(sys.stdout) else PlainDisplay(targets)
