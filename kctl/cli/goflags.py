"""Two kubectl command-line habits click does not have, for the commands that need them.

* ``--flag=false``: Go's flag package lets every boolean flag take a value
  (``rollout status --watch=false``, ``logs -f=false``, ``label --overwrite=true``), and
  scripts written for kubectl use it. :class:`KubectlCommand` rewrites such an argument
  before click parses it: ``=true`` becomes the flag itself, ``=false`` its negative
  form (``--no-watch``) or nothing when it has none.
* ``--``: ``kubectl exec POD -- CMD`` must tell ``exec POD ls`` (refused) from
  ``exec POD -- ls``; click drops the ``--``, so its position among the arguments is
  recorded in ``ctx.meta[DASH_AT]`` (kubectl's ``ArgsLenAtDash``).

Use with ``@app.command(cls=KubectlCommand)``.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand

DASH_AT = "kctl.args_len_at_dash"
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


class KubectlCommand(TyperCommand):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[DASH_AT] = _positionals_before_dash(self, args)
        return super().parse_args(ctx, self._rewrite_bools(args))

    def _rewrite_bools(self, args: list[str]) -> list[str]:
        flags: dict[str, Any] = {}
        for param in self.params:
            if (
                _is_option(param)
                and getattr(param, "is_flag", False)
                and getattr(param, "is_bool_flag", False)
            ):
                for opt in param.opts:
                    flags[opt] = param
        out: list[str] = []
        for i, arg in enumerate(args):
            if arg == "--":
                out.extend(args[i:])
                break
            name, eq, value = arg.partition("=")
            flag = flags.get(name) if eq else None
            if flag is None or value not in _TRUE | _FALSE:
                out.append(arg)
            elif value in _TRUE:
                out.append(flag.opts[0])
            elif flag.secondary_opts:
                out.append(flag.secondary_opts[0])
        return out


def _is_option(param: Any) -> bool:
    # duck-typed: typer ships its own copy of click, whose classes are not click's
    return getattr(param, "param_type_name", "") == "option"


def _positionals_before_dash(command: Any, args: list[str]) -> int | None:
    """How many positional arguments precede ``--`` (None without one)."""
    if "--" not in args:
        return None
    valued: set[str] = set()
    for param in command.params:
        if _is_option(param) and not getattr(param, "is_flag", False):
            valued.update(param.opts)
    count, skip = 0, False
    for arg in args[: args.index("--")]:
        if skip:
            skip = False
        elif arg.startswith("-") and arg != "-":
            skip = arg in valued  # "-c NAME": the next word is the value
        else:
            count += 1
    return count


def args_len_at_dash(ctx: Any) -> int | None:
    return ctx.meta.get(DASH_AT) if ctx is not None else None
