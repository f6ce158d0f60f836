"""``kctl edit TYPE NAME``: the object's YAML in ``$KUBE_EDITOR``/``$EDITOR``/``vi``.

kubectl's loop, messages and exit codes, with one improvement:

* The object is written as ``kubectl get -o yaml`` writes it (without managedFields)
  under kubectl's comment header; saving it unchanged prints ``Edit cancelled, no
  changes made.``, an empty file ``Edit cancelled, saved file was empty.``, a file
  whose object equals the original ``... skipped``.
* The change is sent as a JSON merge patch computed between the original and the
  edited object (field manager ``kctl-edit``): only what the user changed is sent, so
  a concurrent change to another field is not undone. Changing apiVersion, kind or name
  is refused, as kubectl refuses it.
* When the server rejects the object as invalid (or the YAML does not parse), the file
  is reopened with the reasons in the header (``# deployments.apps "web" was not
  valid:`` / ``# * spec.replicas: ...``). Saving it again without a change gives up with
  kubectl's ``Edit cancelled, no valid changes were saved.`` and keeps a copy of the
  edits. Other errors (conflicts, not found) end the command with kubectl's message.
* The improvement: kubectl reopens the file with every full-line comment stripped;
  here only the header is replaced and the user's text (comments, layout) is kept as
  typed, so nothing the user wrote is lost between attempts.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kctl.cli.app import app
from kctl.cli.errors import CliError
from kctl.cli.goflags import KubectlCommand

if TYPE_CHECKING:
    from kctl.api.kinds import ResourceInfo

FIELD_MANAGER = "kctl-edit"
HEADER = (
    "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
    "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
    "# reopened with the relevant failures.\n"
    "#\n"
)


@app.command("edit", cls=KubectlCommand)
def edit_command(
    resources: Annotated[
        list[str] | None, typer.Argument(help="TYPE NAME or TYPE/NAME of the object to edit.")
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="yaml (the only format).")] = "yaml",
) -> None:
    """Edit a resource on the server with your editor."""
    from kctl.cli import targets
    from kctl.cli.session import current

    if output != "yaml":
        raise CliError(f'the edit mode "{output}" is not supported by kctl: use -o yaml')
    session = current()
    selection = targets.parse(session, list(resources or []))
    if not selection.single or selection.refs[0].name is None:
        raise CliError("kctl edit takes exactly one object: TYPE NAME or TYPE/NAME")
    ref = selection.refs[0]
    assert ref.name is not None
    ns = session.namespace if ref.info.namespaced else None
    obj = session.client.get(ref.info, ref.name, ns)
    raise typer.Exit(EditSession(ref.info, obj, editor_command()).run())


def editor_command() -> str:
    """kubectl's choice: ``KUBE_EDITOR``, then ``EDITOR``, then ``vi``."""
    for var in ("KUBE_EDITOR", "EDITOR"):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return "vi"


def launch(editor: str, path: str) -> None:
    """Run the editor on ``path`` (through ``sh -c`` when it carries arguments, as
    kubectl does) attached to the terminal."""
    import shlex
    import subprocess

    argv = [editor, path] if " " not in editor else ["sh", "-c", f"{editor} {shlex.quote(path)}"]
    try:
        code = subprocess.call(argv)
    except OSError:
        code = -1
    if code != 0:
        raise CliError(f'there was a problem with the editor "{editor}"')


def strip_comments(text: str) -> str:
    """kubectl's ``StripComments``: drop full-line comments (for "was anything changed")."""
    return "".join(line for line in text.splitlines(True) if not line.lstrip().startswith("#"))


def merge_patch(original: Any, edited: Any) -> Any:
    """RFC 7386 patch turning ``original`` into ``edited`` (null deletes a key; lists and
    scalars are replaced whole)."""
    if not isinstance(original, dict) or not isinstance(edited, dict):
        return edited
    patch: dict[str, Any] = {}
    for key in original:
        if key not in edited:
            patch[key] = None
    for key, value in edited.items():
        if key not in original:
            patch[key] = value
        elif original[key] != value:
            patch[key] = merge_patch(original[key], value)
    return patch


@dataclass
class Reason:
    head: str
    lines: list[str] = field(default_factory=list)

    def render(self) -> str:
        text = f"# {self.head}:\n" if self.lines else f"# {self.head}\n"
        text += "".join(f"# * {line}\n" for line in self.lines)
        return text + "#\n"


class EditSession:
    """One object's edit loop; :meth:`run` returns the exit code."""

    def __init__(self, info: ResourceInfo, obj: dict[str, Any], editor: str) -> None:
        from kctl.cli.verbs.apply import strip_managed_fields

        self.info = info
        self.original = strip_managed_fields(obj)
        self.editor = editor
        md = self.original.get("metadata", {})
        self.name = str(md.get("name", ""))
        self.namespace = md.get("namespace")
        self.resource = f"{info.plural}.{info.group}" if info.group else info.plural
        self.failure = ""  # kubectl's one-line summary of the last rejection

    def run(self) -> int:
        from kctl.cli.printers.yaml import dumps

        header = HEADER
        body = dumps(self.original)
        original_text = HEADER + body
        previous: str | None = None  # what was saved in the last failed attempt
        while True:
            text = header + body
            path = self._write(text)
            try:
                launch(self.editor, path)
                with open(path, encoding="utf-8") as fh:
                    edited = fh.read()
            finally:
                os.unlink(path)
            if previous is not None and strip_comments(previous) == strip_comments(edited):
                return self._give_up(edited)
            if strip_comments(original_text) == strip_comments(edited):
                print("Edit cancelled, no changes made.", file=sys.stderr)
                return 0
            if not strip_comments(edited).strip():
                print("Edit cancelled, saved file was empty.", file=sys.stderr)
                return 0
            reasons, done = self._save(edited, path)
            if done is not None:
                return done
            previous = edited
            header = HEADER + "".join(r.render() for r in reasons)
            body = _without_header(edited, text)

    def _write(self, text: str) -> str:
        import tempfile

        fd, path = tempfile.mkstemp(prefix="kctl-edit-", suffix=".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        return path

    def _save(self, edited: str, path: str) -> tuple[list[Reason], int | None]:
        """Send the edit. Returns reasons to reopen with, or an exit code when done."""
        from kctl.api.errors import ApiError, Invalid, NotFound
        from kctl.cli.manifests import ManifestError, load_yaml

        try:
            obj = load_yaml(edited, path)
        except ManifestError as exc:
            message = str(exc).split(": ", 1)[-1]
            return [Reason(f"The edited file had a syntax error: {message}")], None
        if not isinstance(obj, dict):
            return [Reason("The edited file is not a YAML object")], None
        identity = (obj.get("apiVersion"), obj.get("kind"), (obj.get("metadata") or {}).get("name"))
        if identity != (self.original.get("apiVersion"), self.original.get("kind"), self.name):
            self._keep_copy(edited)
            raise CliError("At least one of apiVersion, kind and name was changed")
        label = f"{self._kind_word()}/{self.name}"
        patch = merge_patch(self.original, obj)
        if not patch:
            print(f"{label} skipped")
            return [], 0
        from kctl.cli.session import current

        try:
            current().client.patch(
                self.info,
                self.name,
                patch,
                self.namespace,
                patch_type="merge",
                field_manager=FIELD_MANAGER,
                field_validation="Strict",
            )
        except Invalid as exc:
            causes = (exc.details or {}).get("causes") or []
            lines = [f"{c.get('field', '')}: {c.get('message', '')}" for c in causes]
            self.failure = f'{self.resource} "{self.name}" is invalid'
            return [
                Reason(f'{self.resource} "{self.name}" was not valid', lines or [str(exc)])
            ], None
        except NotFound:
            print(
                f'error: {self.resource} "{self.name}" could not be found on the server',
                file=sys.stderr,
            )
            return [], 1
        except ApiError as exc:
            print(
                f'error: {self.resource} "{self.name}" could not be patched: {exc}', file=sys.stderr
            )
            return [], 1
        print(f"{label} edited")
        return [], 0

    def _kind_word(self) -> str:
        kind = self.info.kind.lower()
        return f"{kind}.{self.info.group}" if self.info.group else kind

    def _give_up(self, edited: str) -> int:
        if self.failure:
            print(f"error: {self.failure}", file=sys.stderr)
        self._keep_copy(edited)
        print("error: Edit cancelled, no valid changes were saved.", file=sys.stderr)
        return 1

    def _keep_copy(self, edited: str) -> None:
        """Save the user's work where kubectl would, and say where."""
        path = self._write(edited)
        print(f'A copy of your changes has been stored to "{path}"', file=sys.stderr)


def _without_header(edited: str, shown: str) -> str:
    """The user's text without the header it was given (``shown``'s leading comment
    block), so the next header replaces it; everything else is kept as typed."""
    header_lines = []
    for line in shown.splitlines(True):
        if not line.startswith("#"):
            break
        header_lines.append(line)
    header = "".join(header_lines)
    if edited.startswith(header):
        return edited[len(header) :]
    lines = edited.splitlines(True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "".join(lines)
