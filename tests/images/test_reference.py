from __future__ import annotations

import pytest

from kctl.images.reference import InvalidReference, check_loopback_registry, parse


@pytest.mark.parametrize(
    ("ref", "full", "familiar", "pushed_to_5000"),
    [
        ("web:dev", "docker.io/library/web:dev", "web:dev", "127.0.0.1:5000/web:dev"),
        ("web", "docker.io/library/web:latest", "web:latest", "127.0.0.1:5000/web:latest"),
        ("team/app:1", "docker.io/team/app:1", "team/app:1", "127.0.0.1:5000/team/app:1"),
        (
            "localhost/kctl/pause:1",
            "localhost/kctl/pause:1",
            "localhost/kctl/pause:1",
            "127.0.0.1:5000/kctl/pause:1",
        ),
        (
            "127.0.0.1:5000/web:dev",
            "127.0.0.1:5000/web:dev",
            "127.0.0.1:5000/web:dev",
            "127.0.0.1:5000/web:dev",
        ),
        (
            "index.docker.io/library/busybox:1.35",
            "docker.io/library/busybox:1.35",
            "busybox:1.35",
            "127.0.0.1:5000/busybox:1.35",
        ),
    ],
)
def test_normalization(ref: str, full: str, familiar: str, pushed_to_5000: str) -> None:
    parsed = parse(ref)
    assert parsed.full == full
    assert parsed.familiar == familiar
    assert parsed.with_domain("127.0.0.1:5000").full == pushed_to_5000


def test_digest_reference_gets_no_default_tag() -> None:
    digest = "sha256:" + "a" * 64
    assert parse(f"web@{digest}").full == f"docker.io/library/web@{digest}"


@pytest.mark.parametrize("ref", ["", "Web:dev", "web:bad tag", "web@sha256:zz", "a//b"])
def test_invalid(ref: str) -> None:
    with pytest.raises(InvalidReference):
        parse(ref)


@pytest.mark.parametrize(
    ("registry", "ok"),
    [
        ("127.0.0.1:5000", True),
        ("localhost:5000", True),
        ("[::1]:5000", True),
        ("10.0.0.1:5000", False),
        ("registry.example.com:443", False),
        ("127.0.0.1", False),
        (":5000", False),
    ],
)
def test_only_loopback_registries(registry: str, ok: bool) -> None:
    if ok:
        assert check_loopback_registry(registry) == registry
    else:
        with pytest.raises(InvalidReference):
            check_loopback_registry(registry)
