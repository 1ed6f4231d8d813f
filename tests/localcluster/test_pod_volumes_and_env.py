"""The kubelet mounts API-backed volumes and builds env from the API, as a real kubelet does.

Against the local cluster's containerd nodes, through ``kubectl exec`` and the ``kubernetes`` client:
configMap/secret volumes with items, modes and ``optional``, downwardAPI, projected ServiceAccount
tokens with an audience (checked by TokenReview), the automatic ``kube-api-access-*`` volume, updates
of a ConfigMap reaching the mounted file, read-only mounts, ``FailedMount`` for a missing source, env
from fieldRef/configMapKeyRef/secretKeyRef/envFrom and the ``kubernetes`` Service variables.
"""

from __future__ import annotations

import base64
import os
import pathlib
from typing import Any

import pytest
from kubernetes import client

from tests.localcluster.support import Kube, eventually, running_pod

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="containerd nodes need root")
SLEEP = ["/bin/sh", "-c", "sleep infinity"]
SA = "/var/run/secrets/kubernetes.io/serviceaccount"



def _exec(kube: Kube, ns: str, pod: str, script: str, check: bool = True) -> str:
    return kube.kubectl("exec", "-n", ns, pod, "--", "sh", "-c", script, check=check)


@pytest.fixture(scope="module")
def ns(kube: Kube) -> str:
    name = kube.namespace("vol")
    kube.core.create_namespaced_config_map(
        name, {"metadata": {"name": "cfg"}, "data": {"a": "one", "b": "two"}}
    )
    secret = {"metadata": {"name": "sec"}, "data": {"pw": base64.b64encode(b"hunter2").decode()}}
    kube.core.create_namespaced_secret(name, secret)
    return name


def test_configmap_secret_downward_and_token_volumes_hold_their_files(kube: Kube, ns: str) -> None:
    volumes = [
        {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "sub/first"}]}},
        {"name": "sec", "secret": {"secretName": "sec", "defaultMode": 0o400}},
        {"name": "gone", "configMap": {"name": "missing", "optional": True}},
        {
            "name": "info",
            "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]},
        },
        {
            "name": "tok",
            "projected": {
                "sources": [
                    {
                        "serviceAccountToken": {
                            "audience": "varmor-manager",
                            "expirationSeconds": 7200,
                            "path": "t",
                        }
                    },
                    {
                        "configMap": {
                            "name": "kube-root-ca.crt",
                            "items": [{"key": "ca.crt", "path": "ca.crt"}],
                        }
                    },
                ]
            },
        },
    ]
    mounts = [{"name": v["name"], "mountPath": f"/v/{v['name']}"} for v in volumes]
    spec = {
        "volumes": volumes,
        "containers": [{"name": "c", "image": "debian:10", "command": SLEEP, "volumeMounts": mounts}],
    }
    kube.core.create_namespaced_pod(
        ns, {"metadata": {"name": "files", "labels": {"app": "files"}}, "spec": spec}
    )
    running_pod(kube, ns, "files")
    assert _exec(kube, ns, "files", "cat /v/cfg/sub/first; ls /v/cfg") == "onesub\n"
    assert _exec(kube, ns, "files", "cat /v/sec/pw; stat -L -c %a /v/sec/pw") == "hunter2400\n"
    assert _exec(kube, ns, "files", "ls -A /v/gone | grep -v '^\\.\\.' | wc -l") == "0\n"
    assert _exec(kube, ns, "files", "cat /v/info/labels") == 'app="files"'
    assert "BEGIN CERTIFICATE" in _exec(kube, ns, "files", "cat /v/tok/ca.crt")
    token = _exec(kube, ns, "files", "cat /v/tok/t")
    body = {"spec": {"token": token, "audiences": ["varmor-manager"]}}
    authn: Any = client.AuthenticationV1Api(kube.api)
    review = authn.create_token_review(body).status
    assert review.authenticated is True
    assert review.user.username == f"system:serviceaccount:{ns}:default"
    denied = _exec(kube, ns, "files", "echo x > /v/cfg/new 2>&1; echo $?", check=False)
    assert "Read-only file system" in denied


def test_every_pod_gets_the_service_account_volume_unless_it_opts_out(kube: Kube, ns: str) -> None:
    kube.core.create_namespaced_pod(
        ns,
        {
            "metadata": {"name": "auto"},
            "spec": {"containers": [{"name": "c", "image": "debian:10", "command": SLEEP}]},
        },
    )
    spec = {
        "automountServiceAccountToken": False,
        "containers": [{"name": "c", "image": "debian:10", "command": SLEEP}],
    }
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": "optout"}, "spec": spec})
    running_pod(kube, ns, "auto")
    running_pod(kube, ns, "optout")
    assert _exec(kube, ns, "auto", f"ls {SA}") == "ca.crt\nnamespace\ntoken\n"
    assert _exec(kube, ns, "auto", f"cat {SA}/namespace") == ns
    token = _exec(kube, ns, "auto", f"cat {SA}/token")
    claims = token.split(".")[1]
    assert f"system:serviceaccount:{ns}:default" in base64.urlsafe_b64decode(claims + "==").decode()
    assert "No such file" in _exec(kube, ns, "optout", f"ls {SA} 2>&1", check=False)


def _create_pod_mounting_configmap(kube: Kube, ns: str, pod: str, configmap: str, path: str) -> None:
    """A sleeping pod with ConfigMap ``configmap`` mounted at ``path`` (volume named like it)."""
    vol = {"name": configmap, "configMap": {"name": configmap}}
    c = {
        "name": "c",
        "image": "debian:10",
        "command": SLEEP,
        "volumeMounts": [{"name": configmap, "mountPath": path}],
    }
    spec = {"volumes": [vol], "containers": [c]}
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": pod}, "spec": spec})


def test_a_configmap_change_reaches_the_mounted_file(kube: Kube, ns: str) -> None:
    kube.core.create_namespaced_config_map(ns, {"metadata": {"name": "live"}, "data": {"k": "v1"}})
    _create_pod_mounting_configmap(kube, ns, "watcher", "live", "/live")
    running_pod(kube, ns, "watcher")
    assert _exec(kube, ns, "watcher", "cat /live/k") == "v1"
    kube.core.patch_namespaced_config_map("live", ns, {"data": {"k": "v2", "new": "n"}})
    eventually(
        lambda: _exec(kube, ns, "watcher", "cat /live/k /live/new 2>/dev/null", check=False) == "v2n", 15
    )


def test_a_missing_configmap_holds_the_pod_with_failed_mount_until_it_exists(kube: Kube, ns: str) -> None:
    _create_pod_mounting_configmap(kube, ns, "waits", "later", "/l")

    def described_pod() -> str | None:
        out = kube.kubectl("describe", "pod", "-n", ns, "waits")
        return out if "FailedMount" in out else None

    described = eventually(described_pod, 30)
    assert 'MountVolume.SetUp failed for volume "later" : configmap "later" not found' in described
    status = kube.core.read_namespaced_pod("waits", ns).status
    assert status.phase == "Pending"
    assert status.container_statuses[0].state.waiting.reason == "ContainerCreating"
    kube.core.create_namespaced_config_map(ns, {"metadata": {"name": "later"}, "data": {"x": "y"}})
    running_pod(kube, ns, "waits")
    assert _exec(kube, ns, "waits", "cat /l/x") == "y"


def test_env_comes_from_fields_configmaps_secrets_and_the_kubernetes_service(kube: Kube, ns: str) -> None:
    env = [
        {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "ACCOUNT", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "a"}}},
        {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "pw"}}},
        {"name": "NONE", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "nope", "optional": True}}},
        {"name": "BOTH", "value": "$(A)-$(PW)"},
    ]
    env_from = [{"configMapRef": {"name": "cfg"}, "prefix": "CM_"}, {"secretRef": {"name": "sec"}}]
    c = {"name": "c", "image": "debian:10", "command": SLEEP, "env": env, "envFrom": env_from}
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": "envs"}, "spec": {"containers": [c]}})
    pod = running_pod(kube, ns, "envs")
    got = dict(line.split("=", 1) for line in _exec(kube, ns, "envs", "env").splitlines() if "=" in line)
    assert {
        k: got.get(k) for k in ("POD", "NODE", "IP", "ACCOUNT", "A", "PW", "BOTH", "CM_a", "CM_b", "pw")
    } == {
        "POD": "envs",
        "NODE": pod.spec.node_name,
        "IP": pod.status.pod_ip,
        "ACCOUNT": "default",
        "A": "one",
        "PW": "hunter2",
        "BOTH": "one-hunter2",
        "CM_a": "one",
        "CM_b": "two",
        "pw": "hunter2",
    }
    assert "NONE" not in got
    assert (got["KUBERNETES_SERVICE_HOST"], got["KUBERNETES_SERVICE_PORT"]) == ("10.96.0.1", "443")
    assert got["KUBERNETES_PORT_443_TCP"] == "tcp://10.96.0.1:443"


def test_a_missing_key_is_a_create_container_config_error(kube: Kube, ns: str) -> None:
    env = [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "absent"}}}]
    c = {"name": "c", "image": "debian:10", "command": SLEEP, "env": env}
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": "nokey"}, "spec": {"containers": [c]}})
    waiting = eventually(
        lambda: next(
            (
                s.state.waiting
                for s in kube.core.read_namespaced_pod("nokey", ns).status.container_statuses or []
                if s.state.waiting and s.state.waiting.reason == "CreateContainerConfigError"
            ),
            None,
        ),
        30,
    )
    assert waiting.message == f"couldn't find key absent in ConfigMap {ns}/cfg"


def test_a_memory_empty_dir_is_a_tmpfs_that_goes_with_the_pod(kube: Kube, ns: str) -> None:
    vol = {"name": "scratch", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}
    c = {
        "name": "c",
        "image": "debian:10",
        "command": SLEEP,
        "volumeMounts": [{"name": "scratch", "mountPath": "/m"}],
    }
    spec = {"terminationGracePeriodSeconds": 1, "volumes": [vol], "containers": [c]}
    kube.core.create_namespaced_pod(ns, {"metadata": {"name": "memory"}, "spec": spec})
    pod = running_pod(kube, ns, "memory")
    assert _exec(kube, ns, "memory", "grep ' /m ' /proc/mounts | cut -d' ' -f1,3") == "tmpfs tmpfs\n"
    assert _exec(kube, ns, "memory", "df -k /m | tail -1 | awk '{print $2}'") == "16384\n"
    host_mounts = [
        line for line in pathlib.Path("/proc/mounts").read_text().splitlines() if pod.metadata.uid in line
    ]
    assert len(host_mounts) == 1 and host_mounts[0].startswith("tmpfs ")
    kube.core.delete_namespaced_pod("memory", ns)
    eventually(lambda: pod.metadata.uid not in pathlib.Path("/proc/mounts").read_text(), 30)
