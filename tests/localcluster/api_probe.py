"""The API contract probe: 44 checks with the official sync ``kubernetes`` client.

Adopted from the fakeapi prototype's ``probe_api.py`` (which scored kmock 14/44 and the prototype
40/40 + 4 notes). ``run_probe(url)`` runs every check in order against a fresh server and returns
``(status, name, detail)`` rows; ``test_api_contract`` asserts that every one is OK. A check that
returns something instead of asserting is reported as NOTE, and a NOTE is not a pass. Checks are stateful
and ordered: later ones use objects earlier ones created.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, dynamic, watch
from kubernetes.client.exceptions import ApiException

api: Any = None
core: Any = None
apps: Any = None
co: Any = None
G, V = "crd.varmor.org", "v1beta1"
NS, NS2 = "demo", "other"
CHECKS: list[tuple[str, Callable[[], object | None]]] = []


def check(name: str) -> Callable[[Callable[[], object | None]], Callable[[], object | None]]:
    def deco(fn: Callable[[], object | None]) -> Callable[[], object | None]:
        CHECKS.append((name, fn))
        return fn

    return deco


def _outcome(fn: Callable[[], object | None]) -> tuple[str, str]:
    try:
        out = fn()
    except AssertionError as e:
        return "FAIL", str(e)[:400]
    except ApiException as e:
        return "FAIL", f"ApiException {e.status} {e.reason}: {(e.body or '')[:300]}"
    except Exception as e:
        return "FAIL", f"{type(e).__name__}: {str(e)[:300]}"
    return ("OK", "") if out is None or out is True else ("NOTE", str(out))


def _watch() -> Any:
    return watch.Watch()  # type: ignore[no-untyped-call]


def run_probe(url: str) -> list[tuple[str, str, str]]:
    """Run every check in order against ``url``; return (status, name, detail) rows."""
    global api, core, apps, co
    cfg = client.Configuration()
    cfg.host = url
    api = client.ApiClient(cfg)
    core, apps, co = client.CoreV1Api(api), client.AppsV1Api(api), client.CustomObjectsApi(api)
    return [(status, name, detail) for name, fn in CHECKS for status, detail in [_outcome(fn)]]


def vp(name: str, labels: dict[str, str] | None = None, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": f"{G}/{V}",
        "kind": "VarmorPolicy",
        "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
        "spec": spec
        or {
            "target": {"kind": "Deployment", "selector": {"matchLabels": {"app": "web"}}},
            "policy": {"enforcer": "AppArmor", "mode": "RuntimeDefault"},
        },
    }


@check("discovery: /version via VersionApi")
def _() -> object | None:
    v = client.VersionApi(api).get_code()
    assert v.git_version.startswith("v1."), f"gitVersion={v.git_version}"
    return None


@check("discovery: get_api_versions (/api) and /apis groups")
def _() -> object | None:
    a = client.CoreApi(api).get_api_versions()
    g = client.ApisApi(api).get_api_versions()
    groups = [x.name for x in g.groups]
    assert a.versions == ["v1"], f"/api versions={a.versions}"
    assert {"apps", G, "apiextensions.k8s.io"} <= set(groups), f"/apis groups={groups}"
    return None


@check("create namespace (cluster-scoped core)")
def _() -> object | None:
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS2}})
    return None


@check("CR create returns server-populated metadata (uid, resourceVersion, creationTimestamp, generation)")
def _() -> object | None:
    o = co.create_namespaced_custom_object(G, V, NS, "varmorpolicies", vp("p1", {"tier": "a"}))
    md = o["metadata"]
    missing = [k for k in ("uid", "resourceVersion", "creationTimestamp", "generation") if k not in md]
    assert not missing, f"missing metadata fields {missing}; got metadata={md}"
    return None


@check("CR create second object + same name in another namespace")
def _() -> object | None:
    co.create_namespaced_custom_object(G, V, NS, "varmorpolicies", vp("p2", {"tier": "b"}))
    o = vp("p1", {"tier": "a"})
    o["metadata"]["namespace"] = NS2
    co.create_namespaced_custom_object(G, V, NS2, "varmorpolicies", o)
    return None


@check("CR create duplicate -> 409 AlreadyExists")
def _() -> object | None:
    try:
        co.create_namespaced_custom_object(G, V, NS, "varmorpolicies", vp("p1"))
    except ApiException as e:
        assert e.status == 409, f"status {e.status}"
        reason = json.loads(e.body or "{}").get("reason")
        assert reason == "AlreadyExists", f"409 reason={reason!r}"
        return None
    raise AssertionError("no error on duplicate create")


@check("CR get")
def _() -> object | None:
    o = co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "p1")
    assert o["metadata"]["name"] == "p1"
    return None


@check("CR get missing -> 404")
def _() -> object | None:
    try:
        co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "nope")
    except ApiException as e:
        assert e.status == 404, e.status
        return None
    raise AssertionError("no 404")


@check("CR list namespaced (namespace isolation)")
def _() -> object | None:
    items = co.list_namespaced_custom_object(G, V, NS, "varmorpolicies")["items"]
    names = sorted(i["metadata"]["name"] for i in items)
    assert names == ["p1", "p2"], names
    return None


@check("CR list all namespaces (cluster-wide list of namespaced resource)")
def _() -> object | None:
    items = co.list_cluster_custom_object(G, V, "varmorpolicies")["items"]
    got = sorted((i["metadata"]["namespace"], i["metadata"]["name"]) for i in items)
    assert len(got) == 3, got
    return None


@check("CR list has list metadata.resourceVersion usable for watch")
def _() -> object | None:
    lst = co.list_namespaced_custom_object(G, V, NS, "varmorpolicies")
    rv = lst.get("metadata", {}).get("resourceVersion")
    assert rv and rv.isdigit(), (
        f"list resourceVersion={rv!r}, apiVersion={lst.get('apiVersion')!r}, kind={lst.get('kind')!r}"
    )
    return None


@check("CR list with label_selector tier=a")
def _() -> object | None:
    items = co.list_namespaced_custom_object(G, V, NS, "varmorpolicies", label_selector="tier=a")["items"]
    names = sorted(i["metadata"]["name"] for i in items)
    assert names == ["p1"], f"label selector ignored: got {names}"
    return None


@check("CR list with field_selector metadata.name=p2")
def _() -> object | None:
    items = co.list_namespaced_custom_object(G, V, NS, "varmorpolicies", field_selector="metadata.name=p2")[
        "items"
    ]
    names = sorted(i["metadata"]["name"] for i in items)
    assert names == ["p2"], f"field selector ignored: got {names}"
    return None


@check("CR merge patch of spec (patch_namespaced_custom_object, dict body)")
def _() -> object | None:
    o = co.patch_namespaced_custom_object(
        G, V, NS, "varmorpolicies", "p1", {"spec": {"policy": {"mode": "EnhanceProtect"}}}
    )
    assert o["spec"]["policy"]["mode"] == "EnhanceProtect", o["spec"]
    assert o["spec"]["policy"]["enforcer"] == "AppArmor", "merge lost sibling key"
    g = o["metadata"].get("generation")
    assert g == 2, f"generation after spec change={g!r}"
    return None


@check("CR JSON patch with _content_type=application/json-patch+json")
def _() -> object | None:
    o = co.patch_namespaced_custom_object(
        G,
        V,
        NS,
        "varmorpolicies",
        "p1",
        [{"op": "add", "path": "/metadata/annotations", "value": {"x": "y"}}],
        _content_type="application/json-patch+json",
    )
    assert o["metadata"].get("annotations") == {"x": "y"}, o["metadata"]
    return None


@check("CR list body WITHOUT _content_type (client 37 sends merge-patch) -> real server rejects (400)")
def _() -> object | None:
    try:
        co.patch_namespaced_custom_object(
            G, V, NS, "varmorpolicies", "p1", [{"op": "add", "path": "/metadata/labels/z", "value": "z"}]
        )
    except ApiException as e:
        assert e.status in (400, 422), e.status
        return None
    raise AssertionError("list body sent as merge-patch was accepted (a real server rejects it)")


@check("CR strategic-merge-patch -> 415 (real server: SMP unsupported for custom resources)")
def _() -> object | None:
    try:
        co.patch_namespaced_custom_object(
            G,
            V,
            NS,
            "varmorpolicies",
            "p1",
            {"spec": {"q": 1}},
            _content_type="application/strategic-merge-patch+json",
        )
    except ApiException as e:
        assert e.status == 415, e.status
        return None
    raise AssertionError("SMP on a custom resource accepted")


@check("CR status subresource: patch_namespaced_custom_object_status sets status")
def _() -> object | None:
    o = co.patch_namespaced_custom_object_status(
        G, V, NS, "varmorpolicies", "p1", {"status": {"phase": "Protecting", "ready": True}}
    )
    assert o.get("status", {}).get("phase") == "Protecting", o
    g = co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "p1")
    assert g.get("status", {}).get("phase") == "Protecting", "status not persisted"
    return None


@check("CR status subresource ignores spec changes (real API semantics)")
def _() -> object | None:
    co.patch_namespaced_custom_object_status(
        G, V, NS, "varmorpolicies", "p1", {"spec": {"policy": {"mode": "HACKED"}}}
    )
    g = co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "p1")
    assert g["spec"]["policy"]["mode"] != "HACKED", "spec changed through /status"
    return None


@check("CR main resource ignores status changes (when status subresource enabled)")
def _() -> object | None:
    co.patch_namespaced_custom_object(G, V, NS, "varmorpolicies", "p1", {"status": {"phase": "HACKED"}})
    g = co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "p1")
    assert g.get("status", {}).get("phase") != "HACKED", "status changed through main resource"
    return None


@check("CR replace (PUT) with current object")
def _() -> object | None:
    cur = co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "p2")
    cur["spec"]["policy"]["mode"] = "AlwaysAllow"
    cur["spec"].pop("target", None)
    o = co.replace_namespaced_custom_object(G, V, NS, "varmorpolicies", "p2", cur)
    assert o["spec"]["policy"]["mode"] == "AlwaysAllow"
    g = co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "p2")
    assert "target" not in g["spec"], "PUT merged instead of replacing"
    return None


@check("CR replace (PUT) with stale resourceVersion -> 409 Conflict")
def _() -> object | None:
    cur = co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "p2")
    cur["metadata"]["resourceVersion"] = "1"
    try:
        co.replace_namespaced_custom_object(G, V, NS, "varmorpolicies", "p2", cur)
    except ApiException as e:
        assert e.status == 409, e.status
        return None
    raise AssertionError("stale PUT accepted (no optimistic concurrency)")


@check("CR watch (kubernetes.watch.Watch) sees ADDED/MODIFIED/DELETED")
def _() -> object | None:
    events: list[tuple[str, str]] = []
    w = _watch()

    def run() -> None:
        try:
            for ev in w.stream(
                co.list_namespaced_custom_object, G, V, NS, "varmorpolicies", timeout_seconds=4
            ):
                events.append((ev["type"], ev["object"]["metadata"]["name"]))
        except Exception as e:
            events.append(("EXC", f"{type(e).__name__}: {e}"[:200]))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(1)
    co.create_namespaced_custom_object(G, V, NS, "varmorpolicies", vp("w1", {"tier": "w"}))
    co.patch_namespaced_custom_object(G, V, NS, "varmorpolicies", "w1", {"spec": {"x": 1}})
    co.delete_namespaced_custom_object(G, V, NS, "varmorpolicies", "w1")
    t.join(6)  # the watch asked for timeout_seconds=4: a server should end it
    alive = t.is_alive()
    if alive:
        w.stop()  # server ignored timeoutSeconds; stop from the client side
        t.join(3)
    kinds = [e for e in events]
    assert ("ADDED", "w1") in kinds and ("MODIFIED", "w1") in kinds and ("DELETED", "w1") in kinds, kinds
    return None if not alive and len(kinds) == 5 else f"events={kinds}; server_ignored_timeoutSeconds={alive}"


@check("CR watch with resource_version from list: no replay of old objects")
def _() -> object | None:
    lst = co.list_namespaced_custom_object(G, V, NS, "varmorpolicies")
    rv = lst.get("metadata", {}).get("resourceVersion")
    events: list[tuple[str, str]] = []
    w = _watch()

    def run() -> None:
        try:
            for ev in w.stream(
                co.list_namespaced_custom_object,
                G,
                V,
                NS,
                "varmorpolicies",
                resource_version=rv,
                timeout_seconds=2,
            ):
                events.append((ev["type"], ev["object"]["metadata"]["name"]))
        except Exception as e:
            events.append(("EXC", f"{type(e).__name__}: {e}"[:200]))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(3)
    w.stop()
    t.join(5)
    assert not events, f"watch from list RV={rv!r} replayed: {events}"
    return None


@check("CR watch with label_selector filters events")
def _() -> object | None:
    events: list[tuple[str, str]] = []
    w = _watch()

    def run() -> None:
        try:
            for ev in w.stream(
                co.list_namespaced_custom_object,
                G,
                V,
                NS,
                "varmorpolicies",
                label_selector="tier=zzz",
                timeout_seconds=2,
            ):
                events.append((ev["type"], ev["object"]["metadata"]["name"]))
        except Exception as e:
            events.append(("EXC", f"{type(e).__name__}: {e}"[:200]))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(3)
    w.stop()
    t.join(5)
    assert not events, f"label-filtered watch got: {events}"
    return None


@check("delete CR with finalizer -> deletionTimestamp set, removed after finalizer cleared")
def _() -> object | None:
    o = vp("f1")
    o["metadata"]["finalizers"] = ["varmor.org/cleanup"]
    co.create_namespaced_custom_object(G, V, NS, "varmorpolicies", o)
    co.delete_namespaced_custom_object(G, V, NS, "varmorpolicies", "f1")
    g = co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "f1")
    assert g["metadata"].get("deletionTimestamp"), "no deletionTimestamp"
    co.patch_namespaced_custom_object(G, V, NS, "varmorpolicies", "f1", {"metadata": {"finalizers": None}})
    try:
        co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "f1")
    except ApiException as e:
        assert e.status == 404
        return None
    raise AssertionError("object still present after finalizers removed")


@check("cluster-scoped CR (VarmorClusterPolicy) create/get/list")
def _() -> object | None:
    o = {"apiVersion": f"{G}/{V}", "kind": "VarmorClusterPolicy", "metadata": {"name": "c1"}, "spec": {}}
    co.create_cluster_custom_object(G, V, "varmorclusterpolicies", o)
    co.get_cluster_custom_object(G, V, "varmorclusterpolicies", "c1")
    n = len(co.list_cluster_custom_object(G, V, "varmorclusterpolicies")["items"])
    assert n == 1, n
    return None


def deployment(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "c1", "image": "nginx:1"}, {"name": "c2", "image": "busybox:1"}]
                },
            },
        },
    }


@check("AppsV1 create_namespaced_deployment (typed model deserialization)")
def _() -> object | None:
    d = apps.create_namespaced_deployment(NS, deployment("web"))
    assert isinstance(d, client.V1Deployment)
    meta: Any = d.metadata
    assert meta.name == "web"
    return None if meta.uid else f"OK but uid={meta.uid!r}, rv={meta.resource_version!r}, status={d.status!r}"


@check("AppsV1 read/list deployment")
def _() -> object | None:
    d = apps.read_namespaced_deployment("web", NS)
    lst = apps.list_namespaced_deployment(NS)
    assert d.spec.template.spec.containers[0].name == "c1" and len(lst.items) == 1
    return None


@check("AppsV1 patch template annotations (strategic merge patch by default)")
def _() -> object | None:
    patch = {
        "spec": {
            "template": {
                "metadata": {
                    "annotations": {
                        "container.apparmor.security.beta.kubernetes.io/c1": "localhost/varmor-demo-web"
                    }
                }
            }
        }
    }
    d = apps.patch_namespaced_deployment("web", NS, patch)
    ann = d.spec.template.metadata.annotations or {}
    assert ann.get("container.apparmor.security.beta.kubernetes.io/c1") == "localhost/varmor-demo-web", ann
    assert d.spec.template.metadata.labels == {"app": "web"}
    return None


@check("AppsV1 strategic merge patch merges containers list by name")
def _() -> object | None:
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c2", "image": "busybox:2"}]}}}}
    d = apps.patch_namespaced_deployment("web", NS, patch)
    cs = [(c.name, c.image) for c in d.spec.template.spec.containers]
    assert cs == [("c1", "nginx:1"), ("c2", "busybox:2")], (
        f"containers after SMP: {cs} (list replaced => merge-patch semantics)"
    )
    return None


@check("AppsV1 replace_namespaced_deployment (PUT)")
def _() -> object | None:
    for _attempt in range(5):  # the deployment controller writes status meanwhile: retry on conflict
        d = apps.read_namespaced_deployment("web", NS)
        d.spec.replicas = 3
        try:
            r = apps.replace_namespaced_deployment("web", NS, d)
        except ApiException as e:
            if e.status == 409:
                continue
            raise
        assert r.spec.replicas == 3
        return None
    raise AssertionError("replace conflicted 5 times in a row")


@check("AppsV1 deployment status patch")
def _() -> object | None:
    d = apps.patch_namespaced_deployment_status("web", NS, {"status": {"replicas": 3, "readyReplicas": 3}})
    assert d.status and d.status.ready_replicas == 3, d.status
    return None


@check("CoreV1 create pod + list with label and field selectors")
def _() -> object | None:
    for n, lbl in (("pod-a", "a"), ("pod-b", "b")):
        core.create_namespaced_pod(
            NS,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": n, "labels": {"probe": lbl}},
                "spec": {"containers": [{"name": "c", "image": "x"}]},
            },
        )
    by_label = [p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="probe=a").items]
    by_field = [
        p.metadata.name for p in core.list_namespaced_pod(NS, field_selector="metadata.name=pod-b").items
    ]
    assert by_label == ["pod-a"] and by_field == ["pod-b"], f"label={by_label} field={by_field}"
    return None


@check("pod create without metadata.namespace in body lands in URL namespace")
def _() -> object | None:
    p = core.read_namespaced_pod("pod-a", NS)
    return None if p.metadata.namespace == NS else f"OK, but metadata.namespace={p.metadata.namespace!r}"


@check("CoreV1 delete pod returns and removes")
def _() -> object | None:
    core.delete_namespaced_pod("pod-b", NS)
    for _ in range(100):  # a pod bound to a node terminates gracefully: its kubelet removes it
        names = [p.metadata.name for p in core.list_namespaced_pod(NS).items]
        if "pod-b" not in names:
            return None
        time.sleep(0.1)
    raise AssertionError(f"pod-b still listed 10 s after delete: {names}")


@check("generateName on create")
def _() -> object | None:
    p = core.create_namespaced_pod(
        NS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"generateName": "gen-"},
            "spec": {"containers": [{"name": "c", "image": "x"}]},
        },
    )
    assert p.metadata.name and p.metadata.name.startswith("gen-"), f"name={p.metadata.name!r}"
    return None


@check("unknown resource -> 404")
def _() -> object | None:
    try:
        co.list_namespaced_custom_object("nope.io", "v1", NS, "things")
    except ApiException as e:
        assert e.status == 404
        return None
    raise AssertionError("no 404 for unknown resource")


@check("dynamic client (kubernetes.dynamic) discovery + get")
def _() -> object | None:
    dc = dynamic.DynamicClient(api)  # type: ignore[no-untyped-call]
    r = dc.resources.get(api_version=f"{G}/{V}", kind="VarmorPolicy")
    names = {item.metadata.name for item in r.get(namespace=NS).items}
    assert "p1" in names, f"dynamic list -> {sorted(names)}"
    return None


@check("no-op merge patch does not bump resourceVersion; spec change bumps generation, label change does not")
def _() -> object | None:
    a = co.get_namespaced_custom_object(G, V, NS, "varmorpolicies", "p2")
    b = co.patch_namespaced_custom_object(G, V, NS, "varmorpolicies", "p2", {"spec": a["spec"]})
    assert a["metadata"].get("resourceVersion") == b["metadata"].get("resourceVersion"), (
        "no-op bumped RV (or no RV)"
    )
    c = co.patch_namespaced_custom_object(
        G, V, NS, "varmorpolicies", "p2", {"metadata": {"labels": {"n": "1"}}}
    )
    d = co.patch_namespaced_custom_object(G, V, NS, "varmorpolicies", "p2", {"spec": {"bump": 1}})
    g0, g1, g2 = (x["metadata"].get("generation") for x in (b, c, d))
    assert g0 is not None and g0 == g1 and g2 == g0 + 1, f"generations {g0},{g1},{g2}"
    return None


@check("watch allow_watch_bookmarks=True delivers BOOKMARK events")
def _() -> object | None:
    rv = co.list_namespaced_custom_object(G, V, NS, "varmorpolicies")["metadata"].get("resourceVersion")
    resp = co.list_namespaced_custom_object(
        G,
        V,
        NS,
        "varmorpolicies",
        watch=True,
        allow_watch_bookmarks=True,
        resource_version=rv,
        timeout_seconds=3,
        _preload_content=False,
        _request_timeout=6,
    )
    types = [json.loads(line)["type"] for line in resp.read().splitlines() if line.strip()]
    assert "BOOKMARK" in types, f"event types: {types}"
    return None


@check("watch from a too-old resourceVersion -> ERROR 410 Expired (ApiException 410 in Watch)")
def _() -> object | None:
    try:
        for _ev in _watch().stream(
            co.list_namespaced_custom_object,
            G,
            V,
            NS,
            "varmorpolicies",
            resource_version="1",
            timeout_seconds=2,
            _request_timeout=5,
        ):
            pass
    except ApiException as e:
        assert e.status == 410, e.status
        return None
    except Exception as e:
        raise AssertionError(f"{type(e).__name__}: {e}") from e
    raise AssertionError("no 410 for resourceVersion=1")


@check("ownerReferences garbage collection: deleting owner removes dependent")
def _() -> object | None:
    owner = co.create_namespaced_custom_object(G, V, NS, "varmorpolicies", vp("owner1"))
    uid = owner["metadata"].get("uid")
    assert uid, "owner has no uid"
    dep = {
        "apiVersion": f"{G}/{V}",
        "kind": "ArmorProfile",
        "metadata": {
            "name": "owned1",
            "namespace": NS,
            "ownerReferences": [
                {
                    "apiVersion": f"{G}/{V}",
                    "kind": "VarmorPolicy",
                    "name": "owner1",
                    "uid": uid,
                    "controller": True,
                }
            ],
        },
        "spec": {},
    }
    co.create_namespaced_custom_object(G, V, NS, "armorprofiles", dep)
    co.delete_namespaced_custom_object(G, V, NS, "varmorpolicies", "owner1")
    for _ in range(30):
        try:
            co.get_namespaced_custom_object(G, V, NS, "armorprofiles", "owned1")
        except ApiException as e:
            if e.status == 404:
                return None
        time.sleep(0.1)
    raise AssertionError("dependent ArmorProfile still exists 3 s after owner deletion")


@check("controller simulation: Deployment -> ReplicaSet -> Running Pods, status.readyReplicas")
def _() -> object | None:
    d = deployment("sim")
    d["metadata"]["labels"] = {"app": "sim"}
    d["spec"]["selector"] = {"matchLabels": {"app": "sim"}}
    d["spec"]["template"]["metadata"]["labels"] = {"app": "sim"}
    apps.create_namespaced_deployment(NS, d)
    for _ in range(50):
        pods = core.list_namespaced_pod(NS, label_selector="app=sim").items
        st = apps.read_namespaced_deployment_status("sim", NS).status
        if (
            len(pods) == 2
            and all(p.status and p.status.phase == "Running" for p in pods)
            and st
            and st.ready_replicas == 2
        ):
            rs = apps.list_namespaced_replica_set(NS).items
            return None if rs else "pods but no ReplicaSet"
        time.sleep(0.1)
    raise AssertionError(f"after 5 s: pods={[p.metadata.name for p in pods]}, status={st}")
