"""API-backed volume files are written atomically through ``..data`` and tokens are re-issued in time.

``PodVolumes`` against a temp directory, with ``Sources`` as the kubelet would pass them and a token
issuer of our own whose tokens live one second: the file layout kubelet's AtomicWriter makes, an
update that swaps ``..data`` and drops keys that went away, and a token replaced after 80 % of its life.
"""

from __future__ import annotations

import os
import pathlib
import time

from localcluster.node.podvolumes import PodVolumes
from localcluster.node.sources import Sources

POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {}}


def _pod(volumes: list[dict[str, object]]) -> dict[str, object]:
    return {**POD, "spec": {"volumes": volumes}}


def test_files_sit_behind_a_data_symlink_that_an_update_swaps(tmp_path: pathlib.Path) -> None:
    vols = PodVolumes(tmp_path)
    pod = _pod([{"name": "cfg", "configMap": {"name": "c"}}])
    first = Sources("ns", configmaps={"c": {"data": {"a": "1", "b": "2"}}})
    assert vols.sync(pod, first) == []
    target = tmp_path / "cfg"
    old = os.readlink(target / "..data")
    assert sorted(p.name for p in target.iterdir()) == sorted(["..data", old, "a", "b"])
    assert os.readlink(target / "a") == "..data/a" and (target / "a").read_text() == "1"
    assert vols.sync(pod, Sources("ns", configmaps={"c": {"data": {"a": "3"}}})) == []
    new = os.readlink(target / "..data")
    assert new != old and not (target / old).exists()
    assert sorted(p.name for p in target.iterdir()) == sorted(["..data", new, "a"])
    assert (target / "a").read_text() == "3"


def test_an_unchanged_source_is_not_rewritten(tmp_path: pathlib.Path) -> None:
    vols = PodVolumes(tmp_path)
    pod = _pod([{"name": "cfg", "configMap": {"name": "c"}}])
    sources = Sources("ns", configmaps={"c": {"data": {"a": "1"}}})
    vols.sync(pod, sources)
    before = os.readlink(tmp_path / "cfg" / "..data")
    vols.sync(pod, sources)
    assert os.readlink(tmp_path / "cfg" / "..data") == before


def test_a_token_is_reissued_after_most_of_its_lifetime(tmp_path: pathlib.Path) -> None:
    issued: list[int] = []

    def issue(audiences: list[str], seconds: int) -> tuple[str, float]:
        issued.append(seconds)
        return f"token-{len(issued)}-{','.join(audiences)}", time.time() + 1.0

    vols = PodVolumes(tmp_path)
    src = {"serviceAccountToken": {"audience": "aud", "expirationSeconds": 900, "path": "t"}}
    pod = _pod([{"name": "tok", "projected": {"sources": [src]}}])
    vols.sync(pod, Sources("ns", token=issue))
    vols.sync(pod, Sources("ns", token=issue))
    assert (tmp_path / "tok" / "t").read_text() == "token-1-aud"
    time.sleep(0.9)
    vols.sync(pod, Sources("ns", token=issue))
    assert (tmp_path / "tok" / "t").read_text() == "token-2-aud"
    assert issued == [900, 900]


def test_missing_sources_and_bad_paths_are_reported_per_volume(tmp_path: pathlib.Path) -> None:
    vols = PodVolumes(tmp_path)
    pod = _pod(
        [
            {"name": "a", "secret": {"secretName": "gone"}},
            {"name": "b", "configMap": {"name": "c", "items": [{"key": "k", "path": "../escape"}]}},
            {"name": "c", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
        ]
    )
    sources = Sources(
        "ns", configmaps={"c": {"data": {"k": "v"}}}, account_error='serviceaccounts "x" not found'
    )
    assert vols.sync(pod, sources) == [
        ("a", 'secret "gone" not found'),
        ("b", "invalid path '../escape': must be relative and may not contain '..'"),
        ("c", 'serviceaccounts "x" not found'),
    ]
    assert not (tmp_path.parent / "escape").exists()


def test_host_path_types_are_checked_and_created(tmp_path: pathlib.Path) -> None:
    vols = PodVolumes(tmp_path / "pod")
    (tmp_path / "file").write_text("x")
    pod = _pod(
        [
            {
                "name": "made",
                "hostPath": {"path": str(tmp_path / "new" / "dir"), "type": "DirectoryOrCreate"},
            },
            {"name": "touched", "hostPath": {"path": str(tmp_path / "other" / "f"), "type": "FileOrCreate"}},
            {"name": "notdir", "hostPath": {"path": str(tmp_path / "file"), "type": "Directory"}},
            {"name": "absent", "hostPath": {"path": str(tmp_path / "nothing"), "type": "File"}},
            {"name": "untyped", "hostPath": {"path": str(tmp_path / "nothing")}},
        ]
    )
    assert vols.sync(pod, Sources("ns")) == [
        ("notdir", f"hostPath type check failed: {tmp_path / 'file'} is not a directory"),
        ("absent", f"hostPath type check failed: {tmp_path / 'nothing'} is not a file"),
    ]
    assert (tmp_path / "new" / "dir").is_dir()
    assert (tmp_path / "other" / "f").is_file() and (tmp_path / "other" / "f").stat().st_mode & 0o777 == 0o644
    assert not (tmp_path / "nothing").exists()
