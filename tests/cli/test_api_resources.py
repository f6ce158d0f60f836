"""``kctl api-resources`` side by side with kubectl, from the server's discovery."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

pytestmark = pytest.mark.kubectl


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-o", "wide"],
        ["-o", "name"],
        ["--namespaced"],
        ["--namespaced=false"],
        ["--namespaced=true", "-o", "name"],
        ["--api-group=apps", "--no-headers"],
        ["--api-group="],
        ["--api-group=nope"],
        ["--verbs=update", "--sort-by=kind"],
        ["--verbs=deletecollection,get", "--namespaced=false"],
        ["--categories=all"],
        ["--sort-by=name", "-o", "wide", "--no-headers"],
        ["-o", "json"],
        ["--sort-by=foo"],
    ],
    ids=lambda a: " ".join(a) or "(none)",
)
def test_agrees_with_kubectl(kctl, kubectl, args: list[str]) -> None:
    with ThreadPoolExecutor(2) as pool:
        theirs_f = pool.submit(kubectl, "api-resources", *args, check=False)
        ours_f = pool.submit(kctl, "api-resources", *args, check=False)
        theirs, ours = theirs_f.result(), ours_f.result()
    assert (ours.returncode, ours.stdout, ours.stderr) == (
        theirs.returncode,
        theirs.stdout,
        theirs.stderr,
    )


def test_columns_and_order(kctl) -> None:
    lines = kctl("api-resources").stdout.splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    rows = [line.split() for line in lines[1:]]
    assert ["pods", "po", "v1", "true", "Pod"] in rows
    groups = [r[-3] for r in rows]  # core first, then groups in name order
    assert groups.index("v1") < groups.index("apps/v1") < groups.index("coordination.k8s.io/v1")
    names = kctl("api-resources", "-o", "name").stdout.split()
    assert "deployments.apps" in names and not any("/" in n for n in names)
