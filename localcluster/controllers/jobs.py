"""The Job controller: run pods until ``completions`` succeed or ``backoffLimit`` failures.

Level-based like kube-controller-manager's: count the Job's pods by phase, create up to
``parallelism`` active pods while more successes are needed, and finish with a ``Complete`` (or
``Failed``/``BackoffLimitExceeded``) condition; a finished Job is left alone. The API server's
defaulting of a new Job (selector and labels from its uid) is ``creation.job_defaults``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from localcluster.apiserver import ApiServer, now_iso
from localcluster.controllers.workloads import owned, pod_from_template
from localcluster.errors import ApiError
from localcluster.events import Recorder
from localcluster.storage import Obj


def _finished(job: Obj) -> bool:
    return any(
        c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
        for c in job.get("status", {}).get("conditions") or []
    )


def _condition(kind: str, reason: str, message: str) -> dict[str, Any]:
    now = now_iso()
    return {
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": now,
        "lastTransitionTime": now,
    }


class Jobs:
    def __init__(self, api: ApiServer) -> None:
        self.api = api
        self.events = Recorder(api, "job-controller")

    async def reconcile(self, ns: str, name: str) -> None:
        res = self.api.res("batch", "jobs")
        job = self.api.store.find(res, ns, name)
        if job is None or job["metadata"].get("deletionTimestamp") or _finished(job):
            return
        spec = job.get("spec", {})
        pods = owned(self.api.store.list(self.api.res("", "pods"), ns), job["metadata"]["uid"])
        phases = [p.get("status", {}).get("phase") for p in pods]
        succeeded, failed = phases.count("Succeeded"), phases.count("Failed")
        active = [p for p, ph in zip(pods, phases, strict=True) if ph not in ("Succeeded", "Failed")]
        status = dict(job.get("status") or {})
        status.update(active=len(active), succeeded=succeeded, failed=failed, ready=0)
        status.setdefault("startTime", now_iso())
        if failed > spec.get("backoffLimit", 6):
            await self._stop(active)
            status["conditions"] = [
                _condition("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
            ]
            await self.events.record(
                job, "Warning", "BackoffLimitExceeded", "Job has reached the specified backoff limit"
            )
        elif succeeded >= spec.get("completions", 1):
            status["completionTime"] = now_iso()
            status["conditions"] = [
                _condition(
                    "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods"
                ),
                _condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods"),
            ]
            await self.events.record(job, "Normal", "Completed", "Job completed")
        elif not spec.get("suspend"):
            want = min(spec.get("parallelism", 1), spec.get("completions", 1) - succeeded) - len(active)
            for _ in range(max(0, want)):
                await self._create(job)
        await self.api.update(res, ns, name, {**job, "status": status}, sub="status", admit=False)

    async def _create(self, job: Obj) -> None:
        template = job.get("spec", {}).get("template", {})
        pod = pod_from_template(template, job, generate=f"{job['metadata']['name']}-")
        try:
            created = await self.api.create(self.api.res("", "pods"), job["metadata"]["namespace"], pod)
        except ApiError as e:
            await self.events.record(job, "Warning", "FailedCreate", f"Error creating: {e.message}")
            return
        await self.events.record(
            job, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}"
        )

    async def _stop(self, pods: list[Obj]) -> None:
        for pod in pods:
            with contextlib.suppress(ApiError):
                await self.api.delete(
                    self.api.res("", "pods"), pod["metadata"]["namespace"], pod["metadata"]["name"]
                )
