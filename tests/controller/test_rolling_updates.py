"""Rolling existing workloads: a restart stamp on the pod template; a clean-up removes only our wiring."""

from __future__ import annotations

from typing import Any

from controller.rolling import workload_ops

PROFILE = "varmor-cluster-varmor-demo-4"
STAMP = "2026-01-01T12:00:00Z"


def deployment(annotations: dict[str, str] | None, containers: list[dict[str, Any]]) -> dict[str, Any]:
    meta: dict[str, Any] = {} if annotations is None else {"annotations": annotations}
    return {"spec": {"template": {"metadata": meta, "spec": {"containers": containers}}}}


def test_a_restart_stamps_the_template_and_creates_the_annotation_map_when_missing() -> None:
    assert workload_ops(deployment(None, []), "restart", PROFILE, STAMP) == [
        {"op": "add", "path": "/spec/template/metadata/annotations",
         "value": {"controller.varmor.org/restartedAt": STAMP}}]
    assert workload_ops(deployment({"a": "b"}, []), "restart", PROFILE, STAMP) == [
        {"op": "add", "path": "/spec/template/metadata/annotations/controller.varmor.org~1restartedAt",
         "value": STAMP}]


def test_a_cleanup_removes_our_wiring_keeps_opt_outs_and_restarts() -> None:
    wired = deployment(
        {"container.apparmor.security.beta.varmor.org/c1": f"localhost/{PROFILE}",
         "container.seccomp.security.beta.varmor.org/c0": "unconfined",
         "container.seccomp.security.beta.varmor.org/c1": "localhost/someone-else"},
        [{"name": "c0"}, {"name": "c1", "securityContext": {
            "appArmorProfile": {"type": "Localhost", "localhostProfile": PROFILE},
            "seccompProfile": {"type": "RuntimeDefault"}}}])
    assert workload_ops(wired, "cleanup", PROFILE, STAMP) == [
        {"op": "remove", "path": "/spec/template/metadata/annotations/"
                                 "container.apparmor.security.beta.varmor.org~1c1"},
        {"op": "remove", "path": "/spec/template/spec/containers/1/securityContext/appArmorProfile"},
        {"op": "add", "path": "/spec/template/metadata/annotations/controller.varmor.org~1restartedAt",
         "value": STAMP}]


def test_a_cleanup_that_finds_nothing_of_ours_does_not_roll() -> None:
    assert workload_ops(deployment({"x": "y"}, [{"name": "c0"}]), "cleanup", PROFILE, STAMP) == []
