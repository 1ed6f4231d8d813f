"""The policy controller: ``reconcile(key)`` reads the cluster, asks ``plans.plan`` and applies it.

Keys are ``(kind, namespace, name)`` of VarmorPolicies and VarmorClusterPolicies; changes to an
ArmorProfile or ArmorProfileModel enqueue the policy they belong to. Nothing is remembered between
calls: a restarted or newly elected manager computes the same plan from the same objects.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client.exceptions import ApiException

from api.conditions import rfc3339
from api.names import ARMOR_PROFILE_MODELS, ARMOR_PROFILES
from api.profilenames import profile_name
from api.selectors import SelectorError, to_query
from controller import completion
from controller.kube import Cluster
from controller.modelstore import ModelStore
from controller.plans import Observed, Options, Plan, PolicyKey, plan
from controller.rolling import workload_ops

log = logging.getLogger(__name__)
Clock = Callable[[], datetime.datetime]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclass
class PolicyReconciler:
    cluster: Cluster
    models: ModelStore
    options: Options
    match_label: Mapping[str, str]
    check: completion.Check
    clock: Clock = utcnow

    def observe(self, key: PolicyKey) -> Observed:
        kind, namespace, name = key
        policy = self.cluster.get_policy(kind, namespace, name)
        install = self.options.install_namespace
        profile_ns = install if kind == "VarmorClusterPolicy" else namespace
        profile = profile_name(kind, namespace, name, install)
        return Observed(key, policy, self.cluster.get(ARMOR_PROFILES, profile_ns, profile),
                        self.models.load(profile_ns, profile), self.cluster.desired_agents(), self.clock())

    def reconcile(self, key: PolicyKey) -> float | None:
        """Bring one policy's world to its plan; returns seconds until the next look, if any."""
        observed = self.observe(key)
        steps = plan(observed, self.options)
        self.apply(observed, steps)
        return steps.requeue_after

    def apply(self, observed: Observed, steps: Plan) -> None:
        kind, namespace, name = observed.key
        created = steps.create_profile is None or self._create_profile(steps.create_profile)
        if steps.profile_spec is not None and observed.profile is not None:
            meta = observed.profile["metadata"]
            self.cluster.replace_profile_spec(meta["namespace"], meta["name"], steps.profile_spec)
            log.info("Updated ArmorProfile namespace=%s name=%s", meta["namespace"], meta["name"])
        if steps.roll and created:  # a profile that already existed has rolled its workloads before
            self._roll(observed, steps)
        if steps.complete_model and observed.model is not None and observed.profile is not None:
            model = dict(observed.model)
            if steps.model_status is not None:
                model["status"] = steps.model_status
            self._complete(model, observed.profile["metadata"]["name"])
        elif steps.model_status is not None and observed.model is not None:  # its data is not sent
            self.cluster.replace_status(ARMOR_PROFILE_MODELS,
                                        {**observed.model, "data": {}, "status": steps.model_status})
        if steps.release_profile and observed.profile is not None:
            meta = observed.profile["metadata"]
            self.cluster.release_profile(meta["namespace"], meta["name"])
            log.info("Released ArmorProfile namespace=%s name=%s", meta["namespace"], meta["name"])
        if steps.status is not None and observed.policy is not None:
            self.cluster.patch_policy_status(kind, namespace, name, steps.status)
            log.info("Updated policy status kind=%s namespace=%s name=%s phase=%s ready=%s", kind, namespace,
                     name, steps.status["phase"], steps.status["ready"])
        for event_type, reason, message in steps.events:
            if observed.policy is not None:
                self.cluster.event(observed.policy, event_type, reason, message)

    def _create_profile(self, profile: dict[str, Any]) -> bool:
        """Create the ArmorProfile; False when it already existed (someone created it meanwhile)."""
        try:
            self.cluster.create(ARMOR_PROFILES, profile)
        except ApiException as error:
            if error.status != 409:
                raise
            return False
        log.info("Created ArmorProfile namespace=%s name=%s", profile["metadata"]["namespace"],
                 profile["metadata"]["name"])
        return True

    def _complete(self, model: Mapping[str, Any], name: str) -> None:
        done = completion.completed(model, name, self.check, self.clock())
        stored = self.models.save(done)
        stored["status"] = done["status"]
        self.cluster.replace_status(ARMOR_PROFILE_MODELS, stored)
        log.info("Completed ArmorProfileModel namespace=%s name=%s ready=%s", done["metadata"]["namespace"],
                 name, done["status"]["ready"])

    def _roll(self, observed: Observed, steps: Plan) -> None:
        target = steps.roll_target
        kind = target.get("kind")
        if kind not in ("Deployment", "StatefulSet", "DaemonSet"):
            return
        try:
            selector = to_query(target.get("selector"), self.match_label)
        except SelectorError as error:
            log.warning("Skipped the rolling update key=%s reason=%s", observed.key, error)
            return
        profile = profile_name(*observed.key, self.options.install_namespace)
        stamp = rfc3339(self.clock())
        namespace = "" if observed.key[0] == "VarmorClusterPolicy" else observed.key[1]
        name = str(target.get("name") or "")
        for workload in self.cluster.list_workloads(str(kind), namespace, selector, name):
            api: Any = self.cluster.api
            obj = api.sanitize_for_serialization(workload)
            ops = workload_ops(obj, steps.roll, profile, stamp)
            if ops:
                meta = obj["metadata"]
                self.cluster.patch_workload(str(kind), meta["namespace"], meta["name"], ops)
                log.info("Rolled workload kind=%s namespace=%s name=%s mode=%s", kind, meta["namespace"],
                         meta["name"], steps.roll)
