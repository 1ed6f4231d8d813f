"""Typed views of policy objects (upstream spec §1.1), and one home for the contract's constants."""

from __future__ import annotations

import pathlib
import subprocess
from typing import Any

from api import names
from api.types import APPARMOR, BPF, SECCOMP, UNKNOWN, enforcer_bits, ordered_views, view

ROOT = pathlib.Path(__file__).resolve().parents[2]


def policy(kind: str = "VarmorPolicy", namespace: str | None = "demo", **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "demo-4", "uid": "u-1"}
    if namespace is not None:
        meta["namespace"] = namespace
    body = {"target": {"kind": "Deployment", "name": "web"},
            "policy": {"enforcer": "AppArmorSeccomp", "mode": "BehaviorModeling",
                       "modelingOptions": {"duration": 3}}}
    body.update(spec)
    return {"apiVersion": names.API_VERSION, "kind": kind, "metadata": meta, "spec": body}


def test_enforcers_are_read_by_substring_case_insensitively() -> None:
    assert enforcer_bits("AppArmorSeccomp") == APPARMOR | SECCOMP
    assert enforcer_bits("bpfseccomp") == BPF | SECCOMP
    assert enforcer_bits("nothing") == UNKNOWN
    assert enforcer_bits(None) == UNKNOWN


def test_a_cluster_policys_view_names_its_profile_in_the_install_namespace() -> None:
    found = view(policy("VarmorClusterPolicy", None, updateExistingWorkloads=True))
    assert found is not None and found.cluster_scoped and found.modeling and found.update_existing
    assert (found.profile_name("varmor"), found.profile_namespace("varmor")) == (
        "varmor-cluster-varmor-demo-4", "varmor")
    assert (found.duration, found.uid, found.enforcer_text) == (3, "u-1", "AppArmorSeccomp")


def test_a_policys_view_lives_in_its_namespace() -> None:
    found = view(policy())
    assert found is not None and not found.cluster_scoped and not found.update_existing
    assert (found.profile_name("varmor"), found.profile_namespace("varmor")) == ("varmor-demo-demo-4", "demo")


def test_unusable_objects_have_no_view_and_cluster_policies_come_first() -> None:
    assert view({"kind": "Pod"}) is None
    assert view(policy(target="web")) is None
    cluster, local = policy("VarmorClusterPolicy", None), policy()
    assert [v.kind for v in ordered_views([local, {"kind": "x"}, cluster])] == [
        "VarmorClusterPolicy", "VarmorPolicy"]


def test_contract_literals_are_written_only_in_api() -> None:
    literals = ["crd.varmor.org", "varmor-webhook-svc", "varmor-resource-mutating-webhook-cfg",
                "varmor-policy-validating-webhook-cfg", "sandbox.varmor.org/enable",
                "controller.varmor.org/restartedAt", "varmor.org/ap-protection"]
    packages = ["webhook", "controller", "agent", "generator", "certs", "tracer", "app.py"]
    found = subprocess.run(["grep", "-rnF", *[arg for x in literals for arg in ("-e", x)], "--include=*.py",
                            *packages], cwd=ROOT, capture_output=True, text=True, check=False)
    code_lines = [line for line in found.stdout.splitlines()
                  if not line.split(":", 2)[2].lstrip().startswith(("#", "``", '"""'))
                  and "``" not in line]
    assert code_lines == []
