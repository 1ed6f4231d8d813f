"""Create-only APIs that store nothing: TokenRequest, TokenReview and the access reviews.

``POST .../serviceaccounts/<name>/token`` issues a token for an existing ServiceAccount (optionally
bound to a Pod); ``tokenreviews`` checks one (signature, expiry, audience, and that the account and
bound pod still exist with the same uid); ``selfsubjectreviews`` says who the caller is.
``subjectaccessreviews`` and ``localsubjectaccessreviews`` are answered by evaluating the stored
Roles, ClusterRoles and their bindings (``rbac``), so a server that authorizes its own callers with a
SubjectAccessReview gets real verdicts. The cluster itself still serves every authenticated request,
so the self-reviews (``kubectl auth can-i``) answer ``allowed: true``. The HTTP layer calls ``answer``
with the parsed body, the caller's user name and the request path's namespace.
"""

from __future__ import annotations

import datetime
from typing import Any

from localcluster import rbac, tokens
from localcluster.apiserver import ApiServer, now_iso
from localcluster.errors import ApiError, bad_request, not_found
from localcluster.resources import Resource
from localcluster.storage import Obj

ALLOW_REASON = "the local cluster authorizes every request"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _invalid(kind: str, field: str, message: str) -> ApiError:
    return ApiError(422, "Invalid", f"{kind} is invalid: {field}: {message}")


def _spec(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request("the body must be an object")
    spec = body.get("spec") or {}
    if not isinstance(spec, dict):
        raise bad_request("spec must be an object")
    return spec


def _bound_pod(api: ApiServer, namespace: str, ref: Any) -> dict[str, str] | None:
    if not ref:
        return None
    if not isinstance(ref, dict) or ref.get("kind") != "Pod":
        raise _invalid("TokenRequest", "spec.boundObjectRef.kind", "Unsupported value: only Pod is served")
    pod = api.store.get(api.res("", "pods"), namespace, str(ref.get("name", "")))
    uid = pod["metadata"]["uid"]
    if ref.get("uid") and ref["uid"] != uid:
        raise ApiError(
            409,
            "Conflict",
            f"the UID in the bound object reference ({ref['uid']}) does not match the UID in record ({uid}). "
            "The object might have been deleted and then recreated",
        )
    return {"name": pod["metadata"]["name"], "uid": uid}


def token_request(api: ApiServer, authority: tokens.Authority, namespace: str, name: str, body: Any) -> Obj:
    """Issue the token a TokenRequest asks for; the answer is the request with its ``status``."""
    spec = _spec(body)
    sa = api.store.get(api.res("", "serviceaccounts"), namespace, name)
    expiration = spec.get("expirationSeconds", tokens.DEFAULT_EXPIRATION)
    if not isinstance(expiration, int) or expiration < tokens.MIN_EXPIRATION:
        raise _invalid(
            "TokenRequest",
            "spec.expirationSeconds",
            f"Invalid value: {expiration!r}: may not specify a duration less than 10 minutes",
        )
    audiences = spec.get("audiences") or []
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise _invalid("TokenRequest", "spec.audiences", "Invalid value: must be a list of strings")
    pod = _bound_pod(api, namespace, spec.get("boundObjectRef"))
    account = tokens.Account(namespace, name, sa["metadata"]["uid"])
    token, expires = authority.issue(account, audiences, expiration, _now(), pod)
    return {
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": name, "namespace": namespace, "creationTimestamp": now_iso()},
        "spec": {
            **spec,
            "audiences": audiences or list(tokens.API_AUDIENCES),
            "expirationSeconds": expiration,
        },
        "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


def _still_exists(api: ApiServer, authority: tokens.Authority, token: str) -> str | None:
    """Why an otherwise valid token no longer authenticates (account or bound pod gone), or None."""
    claims = authority.verify(token, _now())
    private = claims.get("kubernetes.io") or {}
    namespace = str(private.get("namespace", ""))
    sa_ref = private.get("serviceaccount") or {}
    sa = api.store.find(api.res("", "serviceaccounts"), namespace, str(sa_ref.get("name", "")))
    if sa is None or sa["metadata"]["uid"] != sa_ref.get("uid"):
        return "invalid bearer token, service account has been deleted"
    pod_ref = private.get("pod")
    if pod_ref:
        pod = api.store.find(api.res("", "pods"), namespace, str(pod_ref.get("name", "")))
        if pod is None or pod["metadata"]["uid"] != pod_ref.get("uid"):
            return "invalid bearer token, pod bound to the token has been deleted"
    return None


def authenticate(
    api: ApiServer, authority: tokens.Authority, token: str, audiences: list[str]
) -> dict[str, Any]:
    """The TokenReview status of ``token``, including the existence checks."""
    status = tokens.review(authority, token, audiences, _now())
    if status["authenticated"]:
        gone = _still_exists(api, authority, token)
        if gone:
            return {"authenticated": False, "user": {}, "error": gone}
    return status


def _review(res: Resource, body: Any, status: dict[str, Any]) -> Obj:
    out = dict(body) if isinstance(body, dict) else {}
    out.update(apiVersion=res.group_version, kind=res.kind, status=status)
    out["metadata"] = {**(out.get("metadata") or {}), "creationTimestamp": None}
    return out


def _rbac(api: ApiServer) -> rbac.Rbac:
    def listed(plural: str) -> list[Obj]:
        return api.store.list(api.res("rbac.authorization.k8s.io", plural))
    roles = {(o["metadata"].get("namespace") or "", o["metadata"]["name"]): o for o in listed("roles")}
    return rbac.Rbac(roles, {o["metadata"]["name"]: o for o in listed("clusterroles")},
                     listed("rolebindings"), listed("clusterrolebindings"))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid("SubjectAccessReview", where, "Invalid value: must be a list of strings")
    return tuple(value)


def access_request(spec: dict[str, Any], namespace: str | None) -> rbac.Request:
    """The question a (Local)SubjectAccessReview asks; 422 for what kube-apiserver refuses."""
    user, groups = spec.get("user") or "", _strings(spec.get("groups"), "spec.groups")
    if not isinstance(user, str) or not (user or groups):
        raise _invalid("SubjectAccessReview", "spec.user", "Invalid value: at least one of user or group "
                       "must be specified")
    resource, other = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if isinstance(resource, dict) == isinstance(other, dict):
        raise _invalid("SubjectAccessReview", "spec.resourceAttributes", "Required value: exactly one of "
                       "nonResourceAttributes or resourceAttributes must be specified")
    if isinstance(other, dict):
        return rbac.Request(user, groups, str(other.get("verb") or ""), path=str(other.get("path") or ""))
    assert isinstance(resource, dict)
    ns = str(resource.get("namespace") or "")
    if namespace is not None and ns != namespace:
        raise _invalid("LocalSubjectAccessReview", "spec.resourceAttributes.namespace",
                       f"Invalid value: {ns!r}: must match metadata.namespace")
    return rbac.Request(user, groups, str(resource.get("verb") or ""), str(resource.get("group") or ""),
                        str(resource.get("resource") or ""), str(resource.get("subresource") or ""),
                        str(resource.get("name") or ""), ns)


def answer(api: ApiServer, authority: tokens.Authority, res: Resource, body: Any, user: str,
           namespace: str | None = None) -> Obj:
    """The response to a POST on one of the create-only review resources."""
    spec = _spec(body)
    if res.plural == "tokenreviews":
        token = spec.get("token")
        if not isinstance(token, str) or not token:
            raise _invalid("TokenReview", "spec.token", "Required value")
        audiences = spec.get("audiences") or []
        return _review(res, body, authenticate(api, authority, token, audiences))
    if res.plural == "selfsubjectreviews":
        return _review(res, body, {"userInfo": {"username": user, "groups": ["system:authenticated"]}})
    if res.plural in ("subjectaccessreviews", "localsubjectaccessreviews"):
        allowed, reason = rbac.decide(_rbac(api), access_request(spec, namespace))
        return _review(res, body, {"allowed": allowed, "reason": reason} if reason else {"allowed": allowed})
    if res.plural == "selfsubjectaccessreviews":
        return _review(res, body, {"allowed": True, "reason": ALLOW_REASON})
    if res.plural == "selfsubjectrulesreviews":
        rule = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
        return _review(res, body, {"resourceRules": [rule], "nonResourceRules": [], "incomplete": False})
    raise not_found(res.group, res.plural, "")
