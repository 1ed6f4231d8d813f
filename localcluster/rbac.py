"""RBAC authorization as kube-apiserver's RBAC authorizer decides it, over the stored RBAC objects (pure).

``allowed(request, roles, bindings)`` answers a SubjectAccessReview's question: may this user (name
and groups) do this verb on this resource (or non-resource path)? Members of ``system:masters`` may do
everything. Otherwise a ClusterRoleBinding grants its ClusterRole's rules everywhere, and a
RoleBinding grants its Role's (or ClusterRole's) rules in its own namespace; a subject is a User, a
Group, or a ServiceAccount (``system:serviceaccount:<namespace>:<name>``, the namespace defaulting
to the RoleBinding's). A rule matches when its verbs, apiGroups, resources (``*``, ``resource/sub``,
``*/sub``, ``resource/*``) and resourceNames, or its nonResourceURLs (``*`` suffix = prefix), cover
the request. The answer carries the reason kube-apiserver gives.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MASTERS = "system:masters"
Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Request:
    user: str
    groups: tuple[str, ...] = ()
    verb: str = ""
    group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""  # a non-resource request when set


@dataclass(frozen=True)
class Rbac:
    """The stored RBAC objects: roles by (namespace, name), cluster roles by name, and the bindings."""

    roles: Mapping[tuple[str, str], Obj]
    cluster_roles: Mapping[str, Obj]
    role_bindings: Sequence[Obj]
    cluster_role_bindings: Sequence[Obj]


def _covers(values: Iterable[Any], wanted: str) -> bool:
    return any(v == "*" or v == wanted for v in values)


def _resource_matches(resources: Sequence[Any], resource: str, subresource: str) -> bool:
    if not subresource:
        return _covers(resources, resource)
    combined = f"{resource}/{subresource}"
    return any(r in ("*", combined, f"*/{subresource}", f"{resource}/*") for r in resources)


def _url_matches(urls: Sequence[Any], path: str) -> bool:
    return any(u == "*" or u == path or (isinstance(u, str) and u.endswith("*") and path.startswith(u[:-1]))
               for u in urls)


def rule_allows(rule: Obj, request: Request) -> bool:
    if not _covers(rule.get("verbs") or [], request.verb):
        return False
    if request.path:
        return _url_matches(rule.get("nonResourceURLs") or [], request.path)
    names = rule.get("resourceNames") or []
    return (_covers(rule.get("apiGroups") or [], request.group)
            and _resource_matches(rule.get("resources") or [], request.resource, request.subresource)
            and (not names or request.name in names))


def _subject_applies(subject: Obj, request: Request, namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return bool(name == request.user)
    if kind == "Group":
        return name in request.groups
    if kind == "ServiceAccount":
        return request.user == f"system:serviceaccount:{subject.get('namespace') or namespace}:{name}"
    return False


def _rules(rbac: Rbac, ref: Obj, namespace: str) -> list[Obj]:
    if ref.get("kind") == "ClusterRole":
        role = rbac.cluster_roles.get(str(ref.get("name")))
    elif ref.get("kind") == "Role" and namespace:
        role = rbac.roles.get((namespace, str(ref.get("name"))))
    else:
        role = None
    return list((role or {}).get("rules") or [])


def _granting(rbac: Rbac, request: Request) -> str | None:
    """The binding that allows the request, described as kube-apiserver does, or None."""
    for binding in rbac.cluster_role_bindings:
        ref, name = binding.get("roleRef") or {}, binding["metadata"]["name"]
        if any(_subject_applies(s, request, "") for s in binding.get("subjects") or []) and any(
                rule_allows(r, request) for r in _rules(rbac, ref, "")):
            return f'RBAC: allowed by ClusterRoleBinding "{name}" of ClusterRole "{ref.get("name")}"'
    if request.path or not request.namespace:
        return None
    for binding in rbac.role_bindings:
        namespace = binding["metadata"].get("namespace") or ""
        if namespace != request.namespace:
            continue
        ref, name = binding.get("roleRef") or {}, binding["metadata"]["name"]
        if any(_subject_applies(s, request, namespace) for s in binding.get("subjects") or []) and any(
                rule_allows(r, request) for r in _rules(rbac, ref, namespace)):
            return (f'RBAC: allowed by RoleBinding "{name}/{namespace}" of {ref.get("kind")} '
                    f'"{ref.get("name")}"')
    return None


def decide(rbac: Rbac, request: Request) -> tuple[bool, str]:
    """``(allowed, reason)`` for the request."""
    if MASTERS in request.groups:
        return True, f"the user is a member of {MASTERS}"
    reason = _granting(rbac, request)
    return (True, reason) if reason else (False, "")
