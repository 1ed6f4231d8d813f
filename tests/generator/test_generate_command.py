"""``python app.py generate``: the user's view of the generator, run as a real process."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "generator" / "data"


def generate(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "app.py", "generate", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60, check=False)


def test_apparmor_is_printed_from_a_model_file() -> None:
    result = generate("apparmor", "--model", str(DATA / "seed_demo4.model.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (DATA / "seed_demo4.apparmor").read_text()


def test_seccomp_is_printed_from_yaml_on_stdin() -> None:
    import yaml

    document = json.loads((DATA / "seed_demo4.model.json").read_text())
    result = generate("seccomp", "--model", "-", stdin=yaml.safe_dump(document))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads((DATA / "seed_demo4.guide.seccomp.json").read_text())


def test_name_overrides_the_models_profile_name() -> None:
    result = generate("apparmor", "--model", str(DATA / "seed_demo4.model.json"), "--name", "other")
    assert "profile other flags=" in result.stdout
    assert "peer=other," in result.stdout


def test_model_is_built_from_audit_logs_and_events_together(tmp_path: pathlib.Path) -> None:
    events = tmp_path / "trace.ndjson"
    events.write_text(json.dumps({"v": 1, "kind": "capability", "target": "c", "name": "net_raw"})
                      + "\nnot json\n")
    result = generate("model", "--name", "varmor-cluster-varmor-demo-4", "--events", str(events),
                      "--audit-log", str(DATA / "audit_auditd.log"))
    assert result.returncode == 0, result.stderr
    apm = json.loads(result.stdout)
    assert apm["kind"] == "ArmorProfileModel"
    assert apm["data"]["dynamicResult"]["apparmor"]["capabilities"] == ["net_raw"]
    assert "/usr/bin/id" in apm["data"]["dynamicResult"]["apparmor"]["executions"]
    assert apm["data"]["coverage"]["invalidEvents"] == 1
    assert apm["data"]["profile"]["content"] and apm["data"]["profile"]["seccompContent"]


def test_bad_inputs_get_one_clear_line_and_exit_code_2(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\n")
    cases = [
        generate("apparmor", "--model", str(tmp_path / "missing.json")),
        generate("apparmor", "--model", str(bad)),
        generate("apparmor", "--model", str(DATA / "seed_demo4.model.json"), "--name", "Bad Name"),
        generate("model", "--name", "x"),
        generate("model", "--name", "bad name!", "--audit-log", str(DATA / "audit_kern.log")),
    ]
    for result in cases:
        assert result.returncode == 2
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_a_model_with_losses_says_so_on_stderr(tmp_path: pathlib.Path) -> None:
    events = tmp_path / "trace.ndjson"
    events.write_text("\n".join(json.dumps(e) for e in [
        {"v": 1, "kind": "syscalls", "target": "c", "names": ["read"]},
        {"v": 1, "kind": "stats", "target": "c", "lost_events": 7, "map_full": 0, "paths_truncated": 0,
         "sources": ["ebpf"]}]) + "\n")
    result = generate("model", "--name", "lossy", "--events", str(events))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ("warning: the model is incomplete: 7 events lost in the kernel; "
                                     "the profiles may deny what the workload did")
    assert json.loads(result.stdout)["data"]["coverage"]["lostEvents"] == 7
