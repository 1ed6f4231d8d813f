"""``python app.py mutate`` and ``python app.py validate`` as users run them."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import yaml

from tests.webhook.helpers import GOLDEN

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEMO4 = GOLDEN / "demo-4"


def app(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "app.py", *args], cwd=ROOT, capture_output=True, text=True,
                          input=stdin, timeout=60, check=False)


def test_mutate_prints_the_wired_deployments_as_yaml() -> None:
    result = app("mutate", "--policy", str(DEMO4 / "vcpol.yaml"), "-f", str(DEMO4 / "deployments.yaml"))
    assert result.returncode == 0, result.stderr
    default, demo = yaml.safe_load_all(result.stdout)
    annotations = demo["spec"]["template"]["metadata"]["annotations"]
    profile = "localhost/varmor-cluster-varmor-demo-4"
    assert annotations["container.apparmor.security.beta.varmor.org/c1"] == profile
    assert annotations["container.apparmor.security.beta.varmor.org/c0"] == "unconfined"
    assert default["spec"]["template"]["spec"]["containers"][0]["securityContext"]["seccompProfile"] == {
        "type": "Localhost", "localhostProfile": "varmor-cluster-varmor-demo-4"}


def test_mutate_reads_stdin_and_targets_older_kubernetes() -> None:
    result = app("mutate", "--policy", str(DEMO4 / "vcpol.yaml"), "-f", "-",
                 "--kubernetes-version", "v1.29.3", stdin=(DEMO4 / "deployments.yaml").read_text())
    assert result.returncode == 0, result.stderr
    demo = list(yaml.safe_load_all(result.stdout))[1]
    template = demo["spec"]["template"]
    assert template["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/c1"] == (
        "localhost/varmor-cluster-varmor-demo-4")
    assert "appArmorProfile" not in template["spec"]["containers"][1]["securityContext"]


def test_validate_allows_the_guides_policy() -> None:
    result = app("validate", "--policy", str(DEMO4 / "vcpol.yaml"))
    assert (result.returncode, result.stdout) == (0, "VarmorClusterPolicy/demo-4 (create): allowed\n")


def test_validate_denies_an_update_that_removes_an_enforcer(tmp_path: pathlib.Path) -> None:
    new = tmp_path / "new.yaml"
    new.write_text((DEMO4 / "vcpol.yaml").read_text().replace("AppArmorSeccomp", "Seccomp"))
    result = app("validate", "--policy", str(new), "--old", str(DEMO4 / "vcpol.yaml"))
    assert result.returncode == 1
    assert result.stdout == (
        "VarmorClusterPolicy/demo-4 (update): denied: Modifying a policy to remove the AppArmor or Seccomp "
        "enforcer is not allowed. To remove them, you need to recreate the policy object.\n")


def test_an_unreadable_policy_file_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: ConfigMap\nmetadata: {name: x}\n")
    result = app("validate", "--policy", str(bad))
    assert result.returncode == 2
    assert "not a VarmorPolicy or VarmorClusterPolicy" in result.stderr


def test_mutate_refuses_a_varmorpolicy_without_a_namespace(tmp_path: pathlib.Path) -> None:
    policy = tmp_path / "vpol.yaml"
    policy.write_text(yaml.safe_dump({
        "apiVersion": "crd.varmor.org/v1beta1", "kind": "VarmorPolicy", "metadata": {"name": "demo-4"},
        "spec": {"target": {"kind": "Deployment", "name": "demo-4"},
                 "policy": {"enforcer": "AppArmor", "mode": "AlwaysAllow"}}}))
    result = app("mutate", "--policy", str(policy), "-f", str(DEMO4 / "deployments.yaml"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ") and "metadata.namespace" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
