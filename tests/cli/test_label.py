"""``kctl label`` / ``kctl annotate`` side by side with kubectl 1.32.

Each step runs through both CLIs on identical objects (kctl's namespace, kubectl's
namespace); the outputs, the exit codes and the labels/annotations stored afterwards
must be the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.cli import kubeobjects as ko
from tests.cli.kubeobjects import Api, Runner, both, twin

pytestmark = pytest.mark.kubectl
api_fixture = ko.api_fixture
kc_fixture = ko.kc_fixture


@pytest.fixture
def pair(api: Api) -> tuple[str, str]:
    namespaces = (api.namespace(ko.fresh_name("label")), api.namespace(ko.fresh_name("label")))
    for ns in namespaces:
        api.deployment(ns, "web", annotations={"note": "hi"})
        api.deployment(ns, "db", annotations={"note": "db"})
        api.send(
            "PATCH",
            f"/apis/apps/v1/namespaces/{ns}/deployments/web",
            {"metadata": {"labels": {"team": "blue", "a": "1"}}},
            "application/merge-patch+json",
        )
    return namespaces


def metadata(api: Api, ns: str) -> list[Any]:
    items = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments")["items"]
    return [
        (i["metadata"]["name"], i["metadata"].get("labels"), i["metadata"].get("annotations"))
        for i in items
    ]


def run_steps(
    api: Api, kc: Runner, kubectl: Runner, pair: tuple[str, str], steps: list[tuple[str, ...]]
) -> None:
    for step in steps:
        twin(kc, kubectl, pair, *step)
        assert metadata(api, pair[0]) == metadata(api, pair[1]), step


def test_label_like_kubectl(api: Api, kc: Runner, kubectl: Runner, pair: tuple[str, str]) -> None:
    run_steps(
        api,
        kc,
        kubectl,
        pair,
        [
            ("label", "deploy", "db", "--list"),  # one entry: Go's map order is random
            ("label", "deploy", "web", "team=blue"),  # same value: not labeled
            ("label", "deploy", "web", "team=red"),  # refused without --overwrite
            ("label", "deploy", "web", "team=red", "--overwrite"),
            ("label", "deploy", "web", "team-"),  # unlabeled
            ("label", "deploy", "web", "team-"),  # label "team" not found.
            ("label", "deploy/web", "b=1", "c=2"),
            ("label", "deploy", "web", "a=5", "x=6"),  # a conflicts
            ("label", "deploy", "-l", "app=web", "c=3", "--overwrite"),
            ("label", "deploy", "--all", "d=4"),
            (
                "label",
                "deploy",
                "web",
                "a-",
                "--overwrite",
            ),  # removal with --overwrite says labeled
            ("label", "deploy", "web", "b-", "zzzzzzzz=1"),
            ("label", "deploy", "web", "e=5", "--dry-run=client"),
            ("label", "deploy", "web", "f=6", "--dry-run=server"),
            ("label", "deploy", "web", "g=7", "-o", "name"),
            ("label", "deploy", "web", "nope", "h=8"),  # web labeled, nope reported, exit 1
            ("label", "deploy", "nope2", "nope", "h=8"),
            ("label", "deploy", "-l", "app=none", "i=9"),  # nothing matches: silent success
            ("label", "deploy", "web", "e=5", "--resource-version=1"),  # 409 Conflict
        ],
    )


def test_annotate_like_kubectl(
    api: Api, kc: Runner, kubectl: Runner, pair: tuple[str, str]
) -> None:
    run_steps(
        api,
        kc,
        kubectl,
        pair,
        [
            ("annotate", "deploy", "web", "note=hi"),
            ("annotate", "deploy", "web", "note=ho"),  # refused without --overwrite
            ("annotate", "deploy", "web", "note=ho", "other=x", "--overwrite"),
            ("annotate", "deploy", "web", "note-"),
            ("annotate", "deploy", "web", "note-"),  # absent: still "annotated"
            ("annotate", "deploy", "web", "desc=a b/c: d=e"),
            ("annotate", "deploy", "web", "kubernetes.io/change-cause=one"),
            ("annotate", "deploy", "web", "kubernetes.io/change-cause=two"),  # always overwritable
            ("annotate", "deploy", "db", "--list"),  # one entry: Go's map order is random
            ("annotate", "deploy", "--all", "all=yes"),
            ("annotate", "deploy", "web", "n=1", "--resource-version=1"),  # 409 Conflict
            ("annotate", "deploy", "web", "nope", "z=1"),
        ],
    )


@pytest.mark.parametrize(
    "args",
    [
        ("label", "deploy", "web"),
        ("label", "deploy", "web", "x"),
        ("label",),
        ("label", "a=b"),
        ("label", "deploy", "web", "x=bad/val"),
        ("label", "deploy", "web", "a=b=c"),
        ("label", "deploy", "web", "a=5", "a-"),
        ("label", "deploy/web", "x=1", "-l", "app=web"),
        ("label", "deploy", "--all", "-l", "app=web", "x=1"),
        ("label", "deploy", "web", "x=1", "deploy"),
        ("label", "deploy/web", "--list", "-o", "name"),
        ("label", "deploy", "-l", "app=web", "e=5", "--resource-version=1"),
        ("annotate", "deploy", "web"),
        ("annotate", "deploy", "web", "n=1", "n-"),
        ("annotate", "deploy", "web", "=x"),
        ("annotate", "deploy", "nope", "x=1"),
    ],
)
def test_argument_errors_like_kubectl(
    kc: Runner, kubectl: Runner, pair: tuple[str, str], args: tuple[str, ...]
) -> None:
    assert both(kc, kubectl, "-n", pair[0], *args).returncode == 1


def test_invalid_key_is_the_servers_answer(
    kc: Runner, kubectl: Runner, pair: tuple[str, str]
) -> None:
    result = both(kc, kubectl, "-n", pair[0], "label", "deploy", "web", "bad key=1")
    assert result.stderr.startswith(
        'The Deployment "web" is invalid: metadata.labels: Invalid value: "bad key"'
    )


def test_list_several_objects(kc: Runner, pair: tuple[str, str]) -> None:
    result = kc("-n", pair[0], "label", "deploy", "--all", "--list")
    assert "Listing labels for Deployment.apps/web:\n" in result.stdout
    assert " team=blue\n" in result.stdout


def test_label_as_a_process(api: Api, kctl: Runner, kubectl: Runner, pair: tuple[str, str]) -> None:
    """The real command line end to end: success, not found and conflict exit codes."""
    twin(kctl, kubectl, pair, "label", "deploy", "web", "tier=front")
    assert twin(kctl, kubectl, pair, "label", "deploy", "nope", "x=1").returncode == 1
    assert twin(kctl, kubectl, pair, "annotate", "deploy", "web", "note=x").returncode == 1
    assert metadata(api, pair[0]) == metadata(api, pair[1])
