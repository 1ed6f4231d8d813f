"""The resource registry: built-in kinds and those registered by CustomResourceDefinitions.

A ``Resource`` carries what discovery, routing, tables and patch rules need. ``crd_resources`` turns a
CRD object into resources (pure); ``Registry`` is the mutable lookup table the server owns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localcluster.errors import ApiError, no_resource


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    status: bool = False
    builtin: bool = True
    printer_columns: tuple[dict[str, Any], ...] = field(default=(), compare=False)
    create_only: bool = False

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def key(self) -> tuple[str, str]:
        return (self.group, self.plural)


def _builtin(
    group: str, plural: str, kind: str, namespaced: bool, short: tuple[str, ...] = (), status: bool = False
) -> Resource:
    return Resource(group, "v1", plural, kind, namespaced, kind.lower(), short, status, True)


def _review(group: str, plural: str, kind: str, namespaced: bool = False) -> Resource:
    """A create-only kind that stores nothing (token and access reviews)."""
    return Resource(group, "v1", plural, kind, namespaced, kind.lower(), builtin=True, create_only=True)


BUILTINS = (
    _builtin("", "namespaces", "Namespace", False, ("ns",), True),
    _builtin("", "nodes", "Node", False, ("no",), True),
    _builtin("", "pods", "Pod", True, ("po",), True),
    _builtin("", "services", "Service", True, ("svc",), True),
    _builtin("", "configmaps", "ConfigMap", True, ("cm",)),
    _builtin("", "secrets", "Secret", True),
    _builtin("", "serviceaccounts", "ServiceAccount", True, ("sa",)),
    _builtin("", "events", "Event", True, ("ev",)),
    _builtin("apps", "deployments", "Deployment", True, ("deploy",), True),
    _builtin("apps", "replicasets", "ReplicaSet", True, ("rs",), True),
    _builtin("apps", "statefulsets", "StatefulSet", True, ("sts",), True),
    _builtin("apps", "daemonsets", "DaemonSet", True, ("ds",), True),
    _builtin("apps", "controllerrevisions", "ControllerRevision", True),
    _builtin("", "replicationcontrollers", "ReplicationController", True, ("rc",), True),
    _builtin("", "endpoints", "Endpoints", True, ("ep",)),
    _builtin("batch", "jobs", "Job", True, (), True),
    _builtin("batch", "cronjobs", "CronJob", True, ("cj",), True),
    _builtin("rbac.authorization.k8s.io", "roles", "Role", True),
    _builtin("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", True),
    _builtin("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", False),
    _builtin("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", False),
    _builtin("coordination.k8s.io", "leases", "Lease", True),
    _builtin("events.k8s.io", "events", "Event", True, ("ev",)),
    _builtin(
        "admissionregistration.k8s.io", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False
    ),
    _builtin(
        "admissionregistration.k8s.io",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        False,
    ),
    _builtin("apiregistration.k8s.io", "apiservices", "APIService", False, (), True),
    _review("authentication.k8s.io", "tokenreviews", "TokenReview"),
    _review("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview"),
    _review("authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview"),
    _review("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview"),
    _review("authorization.k8s.io", "localsubjectaccessreviews", "LocalSubjectAccessReview", True),
    _review("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview"),
    _builtin(
        "apiextensions.k8s.io",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        ("crd", "crds"),
        True,
    ),
)


def crd_resources(crd: dict[str, Any]) -> list[Resource]:
    """The resources a CustomResourceDefinition serves, one per served version."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    out = []
    for version in spec.get("versions", []):
        if not version.get("served", True):
            continue
        out.append(
            Resource(
                spec["group"],
                version["name"],
                names["plural"],
                names["kind"],
                spec.get("scope") == "Namespaced",
                names.get("singular", names["kind"].lower()),
                tuple(names.get("shortNames", [])),
                "status" in (version.get("subresources") or {}),
                False,
                tuple(version.get("additionalPrinterColumns") or []),
            )
        )
    return out


class Registry:
    """Resources by (group, version, plural); the server's routing table."""

    def __init__(self) -> None:
        self._by_gvr: dict[tuple[str, str, str], Resource] = {}
        for res in BUILTINS:
            self.register(res)

    def register(self, res: Resource) -> None:
        self._by_gvr[(res.group, res.version, res.plural)] = res

    def unregister(self, group: str, version: str, plural: str) -> None:
        self._by_gvr.pop((group, version, plural), None)

    def all(self) -> list[Resource]:
        return list(self._by_gvr.values())

    def find(self, group: str, version: str, plural: str) -> Resource:
        res = self._by_gvr.get((group, version, plural))
        if res is None:
            raise no_resource()
        return res

    def by_key(self, group: str, plural: str) -> Resource:
        for res in self._by_gvr.values():
            if res.key == (group, plural):
                return res
        raise no_resource()

    def by_kind(self, api_version: str, kind: str) -> Resource:
        group, _, version = api_version.rpartition("/")
        for res in self._by_gvr.values():
            if (res.group, res.version, res.kind) == (group, version, kind):
                return res
        raise ApiError(404, "NotFound", f"no kind {kind!r} is registered for version {api_version!r}")
