"""The agent's start-up checks: one sentence per missing requirement, nothing for a good node;
``app.py agent`` prints them as ``error:`` lines and exits 2 without a traceback."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from agent import checks

ROOT = pathlib.Path(__file__).resolve().parents[2]


def node(tmp_path: pathlib.Path, btf: bool = True, cgroup2: bool = True,
         headers: bool = True) -> checks.NodePaths:
    paths = checks.NodePaths(btf=tmp_path / "btf" / "vmlinux", cgroup_roots=(tmp_path / "cgroup",),
                             modules=tmp_path / "modules", merged_headers=tmp_path / "headers")
    if btf:
        paths.btf.parent.mkdir(exist_ok=True)
        paths.btf.write_bytes(b"\x9f\xeb")
    if cgroup2:
        (tmp_path / "cgroup").mkdir(exist_ok=True)
        (tmp_path / "cgroup" / "cgroup.controllers").write_text("cpu memory pids\n")
    if headers:
        paths.merged_headers.mkdir(exist_ok=True)
    return paths


def test_a_complete_node_passes(tmp_path: pathlib.Path) -> None:
    assert checks.failed_checks(node(tmp_path), lambda: "containerd://1.6.20~ds1", "/run/x.sock") == []


@pytest.mark.parametrize(("missing", "words"), [
    ({"btf": False}, "BTF is not available"),
    ({"cgroup2": False}, "cgroup v2 is not mounted"),
    ({"headers": False}, "no kernel headers for BCC"),
])
def test_each_missing_requirement_gets_its_own_sentence(tmp_path: pathlib.Path, missing: dict[str, bool],
                                                        words: str) -> None:
    [message] = checks.failed_checks(node(tmp_path, **missing), lambda: "containerd://1.7.2", "/run/x.sock")
    assert words in message


def test_an_old_or_unreachable_containerd_is_named(tmp_path: pathlib.Path) -> None:
    def refused() -> str:
        raise ConnectionRefusedError("connection refused")

    [old] = checks.failed_checks(node(tmp_path), lambda: "containerd://1.5.9", "/run/c.sock")
    assert "containerd containerd://1.5.9 on /run/c.sock is too old" in old and ">= 1.6" in old
    [gone] = checks.failed_checks(node(tmp_path), refused, "/run/c.sock")
    assert gone.startswith("containerd is not reachable on /run/c.sock")


@pytest.mark.parametrize(("release", "ok"), [("6.18.0-1-amd64", True), ("5.15.0-91-generic", True),
                                           ("5.10.0-28-amd64", False), ("4.19.0", False)])
def test_a_kernel_without_the_btf_typed_helpers_is_named(release: str, ok: bool) -> None:
    message = checks.check_kernel(release)
    assert (message is None) == ok
    if not ok:
        assert message is not None and f"kernel {release} is too old" in message and ">= 5.15" in message


@pytest.mark.parametrize(("text", "version"), [("1.6.20~ds1", (1, 6, 20)), ("v1.7.0", (1, 7, 0)),
                                               ("containerd://2.0", (2, 0)), ("unknown", None)])
def test_versions_are_read_from_what_containerd_answers(text: str, version: tuple[int, ...] | None) -> None:
    assert checks.parse_version(text) == version


def test_the_agent_refuses_to_start_without_containerd_in_one_line(tmp_path: pathlib.Path) -> None:
    done = subprocess.run([sys.executable, "app.py", "agent", "--nodeName", "node-1",
                           "--containerdSocket", str(tmp_path / "none.sock"), "--stateDir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "error: containerd is not reachable on" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_the_agent_needs_a_node_name(tmp_path: pathlib.Path) -> None:
    done = subprocess.run([sys.executable, "app.py", "agent", "--nodeName", ""], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    expected = "error: the node name is unknown: set NODE_NAME or --nodeName"
    assert (done.returncode, done.stdout.strip()) == (2, expected)
