"""Reports reach the ArmorProfileModel through the real API (local cluster, real ``kubernetes`` client):
concurrent nodes are all counted once, and a model too large for one object moves to LocalDisk."""

from __future__ import annotations

import pathlib
import stat
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from controller.exports import ModelExports
from controller.ingesting import Ingestor, UnknownProfile
from controller.kube import Cluster
from controller.modelstore import ModelStore
from controller.reports import parse_data, parse_status
from tests.localcluster.support import Kube
from tests.manager.support import local_cluster

NAME = "varmor-demo-big"
Parts = tuple[Kube, Ingestor, ModelStore, pathlib.Path]


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Parts]:
    state = tmp_path_factory.mktemp("reports")
    with local_cluster(state, nodes=1) as kube:
        kube.core.create_namespace({"metadata": {"name": "demo"}})
        kube.custom.create_namespaced_custom_object("crd.varmor.org", "v1beta1", "demo", "armorprofiles", {
            "apiVersion": "crd.varmor.org/v1beta1", "kind": "ArmorProfile",
            "metadata": {"name": NAME, "namespace": "demo"}, "spec": {"profile": {"name": NAME}}})
        cluster = Cluster(kube.api, "varmor")
        store = ModelStore(cluster, state / "apmdata")
        yield kube, Ingestor(cluster, store), store, state / "apmdata"


def data(node: str, files: int, width: int = 10) -> dict[str, Any]:
    return {"namespace": "demo", "armorProfile": NAME, "nodeName": node, "status": "succeeded",
            "dynamicResult": {"apparmor": {"profiles": [NAME], "files": [
                {"path": f"/data/{node}/{i:06d}-{'x' * width}", "permissions": ["r"]} for i in range(files)]},
                "seccomp": {"syscalls": ["read"]}}}


def test_concurrent_nodes_are_each_counted_once(parts: Parts) -> None:
    _, ingest, store, _ = parts
    nodes = [f"node-{i}" for i in range(24)]
    errors: list[BaseException] = []
    def send(node: str) -> None:
        try:
            ingest.record_data(parse_data(data(node, 2)))
        except BaseException as error:
            errors.append(error)
    threads = [threading.Thread(target=send, args=(n,)) for n in nodes + nodes[:6]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    model = store.load("demo", NAME)
    assert model is not None
    assert model["reports"]["reportedNodes"] == sorted(nodes)
    paths = {f["path"] for f in model["data"]["dynamicResult"]["apparmor"]["files"]}
    assert len(paths) == 48


def test_a_report_for_an_unknown_profile_is_refused(parts: Parts) -> None:
    _, ingest, _, _ = parts
    with pytest.raises(UnknownProfile):
        ingest.record_data(parse_data({**data("node-1", 1), "armorProfile": "nope"}))


def test_a_model_too_large_for_one_object_moves_to_local_disk(
    parts: Parts,
) -> None:
    kube, ingest, store, directory = parts
    ingest.record_data(parse_data(data("node-big", 12000, width=120)))  # ~2 MiB of paths
    stored = kube.custom.get_namespaced_custom_object(
        "crd.varmor.org", "v1beta1", "demo", "armorprofilemodels", NAME)
    assert stored["storageType"] == "LocalDisk" and stored["data"] == {}
    assert "node-big" in stored["reports"]["reportedNodes"]
    assert stat.S_IMODE((directory / NAME).stat().st_mode) == 0o600
    exported = ModelExports(store).export("demo", NAME)
    assert exported is not None
    assert len(exported["data"]["dynamicResult"]["apparmor"]["files"]) == 12000 + 48
    ingest.record_data(parse_data(data("node-late", 1)))  # stays LocalDisk, keeps merging
    again = store.load("demo", NAME)
    assert again is not None and again["storageType"] == "LocalDisk"
    assert len(again["data"]["dynamicResult"]["apparmor"]["files"]) == 12000 + 49


class CountingCluster(Cluster):
    """Counts the ArmorProfile status writes (a spy on our own port)."""

    writes = 0

    def replace_status(self, plural: str, obj: Any) -> dict[str, Any]:
        if plural == "armorprofiles":
            self.writes += 1
        return super().replace_status(plural, obj)


def test_load_reports_sent_at_once_are_all_stored_in_fewer_writes(parts: Parts) -> None:
    kube, _, _, directory = parts
    cluster = CountingCluster(kube.api, "varmor")
    ingest = Ingestor(cluster, ModelStore(cluster, directory))
    nodes = [f"node-{i:02d}" for i in range(40)]
    errors: list[BaseException] = []

    def send(node: str, ok: bool) -> None:
        body = {"namespace": "demo", "armorProfile": NAME, "nodeName": node,
                "status": "succeeded" if ok else "failed", "message": "" if ok else "no AppArmor"}
        try:
            ingest.record_status(parse_status(body))
        except BaseException as error:
            errors.append(error)
    threads = [threading.Thread(target=send, args=(n, n != "node-07")) for n in nodes + nodes[:5]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    status = kube.custom.get_namespaced_custom_object(
        "crd.varmor.org", "v1beta1", "demo", "armorprofiles", NAME)["status"]
    assert status["loadedNodes"] == [n for n in nodes if n != "node-07"]
    assert status["failedNodes"] == {"node-07": "no AppArmor"} and status["currentNumberLoaded"] == 39
    assert 1 <= cluster.writes < len(threads)  # groups, not one write (and conflicts) per report


class CrashingStore(ModelStore):
    """The manager dies before the model write (our own port, failing once)."""

    crashes = 1

    def save(self, obj: Any) -> dict[str, Any]:
        if self.crashes:
            self.crashes -= 1
            raise ConnectionError("the manager was killed before the write")
        return super().save(obj)


class CrashingAfterStore(CrashingStore):
    """The manager dies after the model is written but before the report is answered (once)."""

    after = 1

    def save(self, obj: Any) -> dict[str, Any]:
        stored = super().save(obj)
        if self.after:
            self.after -= 1
            raise ConnectionError("the manager was killed between the write and the answer")
        return stored


def test_a_report_interrupted_before_it_is_stored_is_not_answered_and_its_retry_counts_once(
    parts: Parts,
) -> None:
    kube, _, _, directory = parts
    cluster = Cluster(kube.api, "varmor")
    flaky = Ingestor(cluster, CrashingAfterStore(cluster, directory))
    report = parse_data(data("node-crash", 3))
    for _ in range(2):  # crash before the write, then after it: neither is answered
        with pytest.raises(ConnectionError):
            flaky.record_data(report)
    flaky.record_data(report)  # the agent's retry
    model = ModelStore(Cluster(kube.api, "varmor"), directory).load("demo", NAME)
    assert model is not None
    assert model["reports"]["reportedNodes"].count("node-crash") == 1
    files = [f["path"] for f in model["data"]["dynamicResult"]["apparmor"]["files"]]
    assert sum("/node-crash/" in path for path in files) == 3


def test_groups_stored_close_together_or_while_the_event_hook_is_busy_are_told_together(parts: Parts) -> None:
    kube, _, store, _ = parts
    calls: list[list[str]] = []
    told = threading.Event()
    def hook(reports: list[Any]) -> None:
        calls.append([r.node for r in reports])
        if len(calls) == 1:
            time.sleep(2)  # busy: the next groups queue up meanwhile
        if sum(map(len, calls)) == 6:
            told.set()
    ingest = Ingestor(Cluster(kube.api, "varmor"), store, hook)
    for node in ("hook-0", "hook-1", "hook-2", "hook-3", "hook-4", "hook-5"):
        ingest.record_data(parse_data(data(node, 1)))  # one group each: answered once stored
    assert told.wait(30)
    assert len(calls) < 6  # gathered for NOTIFY_INTERVAL, then while the hook was busy
    assert sorted(n for call in calls for n in call) == [f"hook-{i}" for i in range(6)]
