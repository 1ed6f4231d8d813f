"""Hypothesis strategies for AdmissionReviews: plausible workloads and policies with wrong types mixed in."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

NAMES = st.sampled_from(["c0", "c1", "app", "sidecar", ""]) | st.text(max_size=4)
PREFIXES = ["container.apparmor.security.beta.varmor.org/", "container.apparmor.security.beta.kubernetes.io/",
            "container.seccomp.security.beta.varmor.org/", "container.bpf.security.beta.varmor.org/",
            "webhook.varmor.org/"]
JUNK: st.SearchStrategy[Any] = (st.none() | st.integers() | st.booleans() | st.text(max_size=3)
                                | st.lists(st.integers(), max_size=2))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the strategy, sometimes (one in eight) a value of the wrong type."""
    return st.integers(0, 7).flatmap(lambda pick: JUNK if pick == 0 else strategy)


ANNOTATION_KEYS = st.builds(lambda p, n: p + n, st.sampled_from(PREFIXES), NAMES) | st.text(max_size=6)
ANNOTATION_VALUES = st.sampled_from(["unconfined", "localhost/x", "runtime/default", ""])
LABELS = st.dictionaries(st.sampled_from(["app", "tier", "sandbox.varmor.org/enable"]),
                         maybe(st.sampled_from(["web", "demo-4", "true"])), max_size=3)
PROFILE = st.fixed_dictionaries({"type": st.sampled_from(["Unconfined", "RuntimeDefault", "Localhost"])})
CONTEXT = st.fixed_dictionaries({}, optional={
    "privileged": maybe(st.booleans()), "seccompProfile": maybe(PROFILE),
    "appArmorProfile": maybe(PROFILE), "runAsUser": st.integers(0, 2000)})
CONTAINER = st.fixed_dictionaries({"name": maybe(NAMES)}, optional={
    "image": st.just("debian:10"), "securityContext": maybe(CONTEXT)})
POD_SPEC = st.fixed_dictionaries({}, optional={
    "containers": maybe(st.lists(maybe(CONTAINER), max_size=4)), "securityContext": maybe(CONTEXT)})
METADATA = st.fixed_dictionaries({}, optional={
    "name": maybe(st.sampled_from(["web", "demo-4"])), "namespace": st.sampled_from(["demo", "default"]),
    "labels": maybe(LABELS), "annotations": maybe(st.dictionaries(ANNOTATION_KEYS, maybe(ANNOTATION_VALUES),
                                                                   max_size=4))})
TEMPLATE = st.fixed_dictionaries({}, optional={"metadata": maybe(METADATA), "spec": maybe(POD_SPEC)})
WORKLOAD_KINDS = st.sampled_from(["Deployment", "StatefulSet", "DaemonSet"])
OBJECTS = st.one_of(
    st.fixed_dictionaries({"kind": st.just("Pod"), "metadata": maybe(METADATA), "spec": maybe(POD_SPEC)}),
    st.fixed_dictionaries({"kind": WORKLOAD_KINDS, "metadata": maybe(METADATA),
                           "spec": maybe(st.fixed_dictionaries({}, optional={"template": maybe(TEMPLATE)}))}),
)
EXPRESSION = st.fixed_dictionaries({"key": maybe(st.sampled_from(["app", "tier"]))}, optional={
    "operator": st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Near"]),
    "values": maybe(st.lists(st.sampled_from(["web", "demo-4"]), max_size=2))})
SELECTOR = st.fixed_dictionaries({}, optional={
    "matchLabels": maybe(LABELS), "matchExpressions": maybe(st.lists(maybe(EXPRESSION), max_size=2))})
TARGET_KINDS = st.sampled_from(["Deployment", "StatefulSet", "DaemonSet", "Pod", "Job"])
TARGET = st.fixed_dictionaries({"kind": TARGET_KINDS},
                               optional={"name": maybe(st.sampled_from(["web", "demo-4"])),
                                         "selector": maybe(SELECTOR),
                                         "containers": maybe(st.lists(maybe(NAMES), max_size=2))})
POLICY_BODY = st.fixed_dictionaries({
    "enforcer": maybe(st.sampled_from(["AppArmor", "Seccomp", "AppArmorSeccomp", "BPF", "AppArmorBPFSeccomp",
                                       "NetworkProxy", "nonsense"])),
    "mode": maybe(st.sampled_from(["BehaviorModeling", "RuntimeDefault", "EnhanceProtect", "AlwaysAllow"]))})
POLICY = st.fixed_dictionaries({
    "kind": st.sampled_from(["VarmorPolicy", "VarmorClusterPolicy"]),
    "metadata": st.fixed_dictionaries({"name": st.sampled_from(["p", "demo-4"]),
                                       "namespace": st.sampled_from(["demo", "default"])}),
    "spec": maybe(st.fixed_dictionaries({"target": maybe(TARGET), "policy": maybe(POLICY_BODY)}))})
POLICIES = st.lists(POLICY, max_size=3)


def as_review(obj: dict[str, Any], namespace: str, operation: str = "CREATE") -> dict[str, Any]:
    kind = obj["kind"]
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-1", "kind": {"group": "" if kind == "Pod" else "apps", "version": "v1",
                                               "kind": kind},
                        "namespace": namespace, "operation": operation, "object": obj}}


def _selecting(obj: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    meta: dict[str, Any] = obj["metadata"] if isinstance(obj.get("metadata"), dict) else {}
    by = st.sampled_from([{"selector": {}}, {"selector": {"matchLabels": {"app": "web"}}},
                          {"name": meta.get("name")}])
    target = st.builds(lambda b, c: {"kind": obj["kind"], **b, **c}, by,
                       st.sampled_from([{}, {"containers": ["c1"]}, {"containers": ["app", "c0"]}]))
    return st.builds(
        lambda t, body, kind, ns: {"kind": kind, "metadata": {"name": "p", "namespace": ns},
                                   "spec": {"target": t, "policy": body}},
        target, POLICY_BODY, st.sampled_from(["VarmorPolicy", "VarmorClusterPolicy"]), st.just("demo"))


def _with_policies(obj: dict[str, Any]) -> st.SearchStrategy[tuple[dict[str, Any], list[dict[str, Any]]]]:
    return st.tuples(st.just(obj), st.lists(_selecting(obj), min_size=1, max_size=2).flatmap(
        lambda chosen: POLICIES.map(lambda others: chosen + others)))


CASES = OBJECTS.flatmap(_with_policies)
