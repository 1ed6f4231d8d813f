"""``python app.py advise``: the user's view, run as a real process on the guide's model."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUIDE_MODEL = ROOT / "tests" / "generator" / "data" / "seed_demo4.model.json"


def advise(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "app.py", "advise", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)


def _advice() -> dict[str, Any]:
    result = advise("--model", str(GUIDE_MODEL), "-o", "json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_the_guides_model_keeps_disallow_mount_and_drops_user_namespace_and_cap_all_rules() -> None:
    document = _advice()
    template = document["template"]
    hardening = template["enhanceProtect"]["hardeningRules"]
    assert "disallow-mount" in hardening
    assert "disable-cap-all" not in hardening and "disallow-create-user-ns" not in hardening
    decisions = {d["rule"]: d for d in document["decisions"]}
    assert decisions["disallow-create-user-ns"]["reason"] == "the model has syscall unshare"
    assert decisions["disable-cap-all"]["reason"] == "the model uses capability sys_admin"
    assert decisions["disallow-mount"]["verdict"] == "kept"
    assert decisions["disallow-mount"]["reason"] == "no syscall mount among the model's 55 syscalls"


def test_the_guides_model_gets_a_least_privilege_security_context_with_reasons() -> None:
    [entry] = _advice()["securityContexts"]
    context = entry["securityContext"]
    assert context["capabilities"] == {"drop": ["ALL"], "add": ["SYS_ADMIN"]}
    assert context["readOnlyRootFilesystem"] is False
    assert entry["reasons"]["readOnlyRootFilesystem"] == "the model writes to the root filesystem: /root/c1"
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}


def test_the_table_explains_every_rule_for_people() -> None:
    result = advise("--model", str(GUIDE_MODEL))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["RULE", "CATEGORY", "VERDICT", "REASON"]
    row = next(line for line in lines if line.startswith("disallow-create-user-ns "))
    assert row.split()[2] == "dropped" and row.endswith("the model has syscall unshare")
    assert any(line.strip().startswith("seccompProfile") for line in lines)


def test_yaml_is_a_policy_that_our_validating_webhook_accepts(tmp_path: pathlib.Path) -> None:
    result = advise("--model", str(GUIDE_MODEL), "--enforcers", "AppArmor,Seccomp", "-o", "yaml")
    assert result.returncode == 0, result.stderr
    policy = yaml.safe_load(result.stdout)
    assert policy["kind"] == "VarmorClusterPolicy" and policy["metadata"]["name"] == "demo-4"
    assert policy["spec"]["policy"]["enforcer"] == "AppArmorSeccomp"
    assert policy["spec"]["target"] == {"kind": "Deployment", "name": "demo-4"}
    notes = json.loads(policy["metadata"]["annotations"]["advise.varmor.org/decisions"])
    assert {"rule": "disallow-create-user-ns", "verdict": "dropped",
            "reason": "the model has syscall unshare"} in notes
    assert "- disallow-mount  # no syscall mount" in result.stdout
    (tmp_path / "policy.yaml").write_text(result.stdout)
    command = [sys.executable, "app.py", "validate", "--policy", str(tmp_path / "policy.yaml")]
    checked = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_same_input_prints_the_same_bytes_from_a_file_or_from_yaml_on_stdin() -> None:
    first = advise("--model", str(GUIDE_MODEL), "-o", "yaml").stdout
    as_yaml = yaml.safe_dump(json.loads(GUIDE_MODEL.read_text()))
    assert advise("--model", "-", "-o", "yaml", stdin=as_yaml).stdout == first
    assert advise("--model", str(GUIDE_MODEL), "-o", "yaml").stdout == first


def test_without_a_model_the_template_comes_from_declared_facts_alone() -> None:
    result = advise("--enforcers", "AppArmor,BPF", "--features", "share-containers-pid-ns",
                    "--capabilities", "sys_admin,net_admin,kill", "--name", "app", "-o", "json")
    assert result.returncode == 0, result.stderr
    rules = json.loads(result.stdout)["template"]["enhanceProtect"]
    assert "disallow-access-procfs-root" in rules["hardeningRules"]
    assert rules["attackProtectionRules"][0]["rules"] == [
        "mitigate-sa-leak", "mitigate-disk-device-number-leak", "mitigate-overlayfs-leak",
        "mitigate-host-ip-leak", "disallow-metadata-service"]


def test_bad_inputs_get_one_clear_line_and_exit_code_2(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\n")
    broken = tmp_path / "broken.json"
    broken.write_text("{ not: [json")
    cases = [
        advise("--model", str(tmp_path / "missing.json")),
        advise("--model", str(bad)),
        advise("--model", str(broken)),
        advise("--model", str(GUIDE_MODEL), "--enforcers", "SELinux"),
        advise("--model", str(GUIDE_MODEL), "--features", "fly"),
        advise("--model", str(GUIDE_MODEL), "--capabilities", "sys_magic"),
        advise("--model", str(GUIDE_MODEL), "--target", "Deployment"),
        advise("--model", "-", stdin="[1, 2]"),
    ]
    for result in cases:
        assert result.returncode == 2, result
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: "), result.stderr
