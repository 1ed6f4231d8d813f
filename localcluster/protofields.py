"""Field numbers of the Kubernetes v1 protobuf messages that kubectl's typed clients send.

A hand-written subset of the ``generated.proto`` wire contract (Kubernetes 1.32): the kinds that
``kubectl create namespace|configmap|secret|serviceaccount|deployment|job|cronjob|role|rolebinding|
clusterrole|clusterrolebinding|service|token``, ``kubectl auth can-i|whoami`` and typed deletes send.
Each message is ``"number jsonName type, ..."``; a type is ``s`` string, ``i`` integer, ``b`` bool,
``y`` bytes, ``t`` Time, ``q`` Quantity, ``n`` IntOrString, another message's name, ``{T`` a map of
string to ``T``, and a trailing ``*`` marks a repeated field. ``protobuf`` decodes with it.
"""

from __future__ import annotations

_MESSAGES = {
    "ObjectMeta": "1 name s, 2 generateName s, 3 namespace s, 4 selfLink s, 5 uid s, 6 resourceVersion s, "
    "7 generation i, 8 creationTimestamp t, 9 deletionTimestamp t, 10 deletionGracePeriodSeconds i, "
    "11 labels {s, 12 annotations {s, 13 ownerReferences OwnerReference*, 14 finalizers s*",
    "OwnerReference": "1 kind s, 3 name s, 4 uid s, 5 apiVersion s, 6 controller b, 7 blockOwnerDeletion b",
    "LabelSelector": "1 matchLabels {s, 2 matchExpressions LabelSelectorRequirement*",
    "LabelSelectorRequirement": "1 key s, 2 operator s, 3 values s*",
    "ObjectReference": "1 kind s, 2 namespace s, 3 name s, 4 uid s, 5 apiVersion s, 6 resourceVersion s, "
    "7 fieldPath s",
    "LocalObjectReference": "1 name s",
    "Empty": "",  # a status: written by the server, so whatever the client sends is ignored
    # core/v1
    "Namespace": "1 metadata ObjectMeta, 2 spec NamespaceSpec, 3 status Empty",
    "NamespaceSpec": "1 finalizers s*",
    "ConfigMap": "1 metadata ObjectMeta, 2 data {s, 3 binaryData {y, 4 immutable b",
    "Secret": "1 metadata ObjectMeta, 2 data {y, 3 type s, 4 stringData {s, 5 immutable b",
    "ServiceAccount": "1 metadata ObjectMeta, 2 secrets ObjectReference*, "
    "3 imagePullSecrets LocalObjectReference*, 4 automountServiceAccountToken b",
    "Service": "1 metadata ObjectMeta, 2 spec ServiceSpec, 3 status Empty",
    "ServiceSpec": "1 ports ServicePort*, 2 selector {s, 3 clusterIP s, 4 type s, 5 externalIPs s*, "
    "7 sessionAffinity s, 10 externalName s, 17 ipFamilyPolicy s, 18 clusterIPs s*, 19 ipFamilies s*",
    "ServicePort": "1 name s, 2 protocol s, 3 port i, 4 targetPort n, 5 nodePort i, 6 appProtocol s",
    "PodTemplateSpec": "1 metadata ObjectMeta, 2 spec PodSpec",
    "PodSpec": "2 containers Container*, 3 restartPolicy s, 4 terminationGracePeriodSeconds i, "
    "5 activeDeadlineSeconds i, 6 dnsPolicy s, 7 nodeSelector {s, 8 serviceAccountName s, "
    "9 serviceAccount s, 10 nodeName s, 11 hostNetwork b, 12 hostPID b, 13 hostIPC b, "
    "14 securityContext Empty, 15 imagePullSecrets LocalObjectReference*, 16 hostname s, 17 subdomain s, "
    "19 schedulerName s, 20 initContainers Container*, 21 automountServiceAccountToken b, "
    "24 priorityClassName s, 25 priority i, 27 shareProcessNamespace b, 30 enableServiceLinks b, "
    "31 preemptionPolicy s",
    "Container": "1 name s, 2 image s, 3 command s*, 4 args s*, 5 workingDir s, 6 ports ContainerPort*, "
    "7 env EnvVar*, 8 resources ResourceRequirements, 9 volumeMounts VolumeMount*, "
    "13 terminationMessagePath s, 14 imagePullPolicy s, 16 stdin b, 17 stdinOnce b, 18 tty b, "
    "20 terminationMessagePolicy s, 24 restartPolicy s",
    "ContainerPort": "1 name s, 2 hostPort i, 3 containerPort i, 4 protocol s, 5 hostIP s",
    "EnvVar": "1 name s, 2 value s",
    "ResourceRequirements": "1 limits {q, 2 requests {q",
    "VolumeMount": "1 name s, 2 readOnly b, 3 mountPath s, 4 subPath s",
    # apps/v1 and autoscaling/v1
    "Deployment": "1 metadata ObjectMeta, 2 spec DeploymentSpec, 3 status Empty",
    "DeploymentSpec": "1 replicas i, 2 selector LabelSelector, 3 template PodTemplateSpec, "
    "4 strategy DeploymentStrategy, 5 minReadySeconds i, 6 revisionHistoryLimit i, 7 paused b, "
    "9 progressDeadlineSeconds i",
    "DeploymentStrategy": "1 type s, 2 rollingUpdate RollingUpdateDeployment",
    "RollingUpdateDeployment": "1 maxUnavailable n, 2 maxSurge n",
    "Scale": "1 metadata ObjectMeta, 2 spec ScaleSpec, 3 status Empty",
    "ScaleSpec": "1 replicas i",
    # batch/v1
    "Job": "1 metadata ObjectMeta, 2 spec JobSpec, 3 status Empty",
    "JobSpec": "1 parallelism i, 2 completions i, 3 activeDeadlineSeconds i, 4 selector LabelSelector, "
    "5 manualSelector b, 6 template PodTemplateSpec, 7 backoffLimit i, 8 ttlSecondsAfterFinished i, "
    "9 completionMode s, 10 suspend b",
    "CronJob": "1 metadata ObjectMeta, 2 spec CronJobSpec, 3 status Empty",
    "CronJobSpec": "1 schedule s, 2 startingDeadlineSeconds i, 3 concurrencyPolicy s, 4 suspend b, "
    "5 jobTemplate JobTemplateSpec, 6 successfulJobsHistoryLimit i, 7 failedJobsHistoryLimit i, "
    "8 timeZone s",
    "JobTemplateSpec": "1 metadata ObjectMeta, 2 spec JobSpec",
    # rbac.authorization.k8s.io/v1
    "Role": "1 metadata ObjectMeta, 2 rules PolicyRule*",
    "ClusterRole": "1 metadata ObjectMeta, 2 rules PolicyRule*, 3 aggregationRule AggregationRule",
    "PolicyRule": "1 verbs s*, 2 apiGroups s*, 3 resources s*, 4 resourceNames s*, 5 nonResourceURLs s*",
    "AggregationRule": "1 clusterRoleSelectors LabelSelector*",
    "RoleBinding": "1 metadata ObjectMeta, 2 subjects Subject*, 3 roleRef RoleRef",
    "ClusterRoleBinding": "1 metadata ObjectMeta, 2 subjects Subject*, 3 roleRef RoleRef",
    "Subject": "1 kind s, 2 apiGroup s, 3 name s, 4 namespace s",
    "RoleRef": "1 apiGroup s, 2 kind s, 3 name s",
    # authentication.k8s.io/v1 and authorization.k8s.io/v1
    "TokenRequest": "1 metadata ObjectMeta, 2 spec TokenRequestSpec, 3 status Empty",
    "TokenRequestSpec": "1 audiences s*, 3 boundObjectRef BoundObjectReference, 4 expirationSeconds i",
    "BoundObjectReference": "1 kind s, 2 apiVersion s, 3 name s, 4 uid s",
    "TokenReview": "1 metadata ObjectMeta, 2 spec TokenReviewSpec, 3 status Empty",
    "TokenReviewSpec": "1 token s, 2 audiences s*",
    "SelfSubjectReview": "1 metadata ObjectMeta, 2 status Empty",
    "SelfSubjectAccessReview": "1 metadata ObjectMeta, 2 spec SelfSubjectAccessReviewSpec, 3 status Empty",
    "SelfSubjectAccessReviewSpec": "1 resourceAttributes ResourceAttributes, "
    "2 nonResourceAttributes NonResourceAttributes",
    "ResourceAttributes": "1 namespace s, 2 verb s, 3 group s, 4 version s, 5 resource s, 6 subresource s, "
    "7 name s",
    "NonResourceAttributes": "1 path s, 2 verb s",
    "SelfSubjectRulesReview": "1 metadata ObjectMeta, 2 spec SelfSubjectRulesReviewSpec, 3 status Empty",
    "SelfSubjectRulesReviewSpec": "1 namespace s",
    # meta/v1
    "DeleteOptions": "1 gracePeriodSeconds i, 2 preconditions Preconditions, 3 orphanDependents b, "
    "4 propagationPolicy s, 5 dryRun s*",
    "Preconditions": "1 uid s, 2 resourceVersion s",
}

# Pointer fields whose zero value means something (JSON would carry it; protobuf sends it only if set).
KEEP_ZERO = frozenset(
    {
        "replicas",
        "terminationGracePeriodSeconds",
        "activeDeadlineSeconds",
        "automountServiceAccountToken",
        "immutable",
        "parallelism",
        "completions",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "suspend",
        "gracePeriodSeconds",
        "expirationSeconds",
        "shareProcessNamespace",
        "enableServiceLinks",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
        "orphanDependents",
        "startingDeadlineSeconds",
        "successfulJobsHistoryLimit",
        "failedJobsHistoryLimit",
        "priority",
        "controller",
        "blockOwnerDeletion",
    }
)

Field = tuple[str, str, bool]


def _parse(spec: str) -> dict[int, Field]:
    out: dict[int, Field] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        number, name, typ = item.split()
        out[int(number)] = (name, typ.rstrip("*"), typ.endswith("*"))
    return out


MESSAGES: dict[str, dict[int, Field]] = {name: _parse(spec) for name, spec in _MESSAGES.items()}
