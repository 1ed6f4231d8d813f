"""Renew the certificates without ever breaking a client that trusts the published ``caBundle``.

``renew`` is pure: given the stored bundle and the time it returns the bundle to store and why.
- No bundle, or a CA that is unusable right now: a new CA and serving certificate (``regenerate``;
  nothing else can work).
- A serving certificate that is invalid, misnamed or expires within ``margin``: a new one from the
  same CA (``reissue``); the ``caBundle`` does not change.
- A CA that expires within ``ca_lead``: a next CA is made and published next to the current one
  (``stage-ca``), and signs nothing yet. Once it has been published for ``soak`` (or the current CA
  would expire within ``margin``) it signs a new serving certificate and the old CA stays trusted as
  the previous one (``switch-ca``) until it expires (``retire-ca``).
``ensure`` applies that to a store under its lock (or again from the store's new content when another
writer won a race: ``StoreConflict``) and hands every changed trust bundle to each
``CaBundleSink`` (the webhook configurations) *after* the store holds it. Upstream checks every
12 h whether the chain is still valid 12 h later (spec §2.5).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import tenacity

from certs.authority import (
    CertBundle,
    ServingNames,
    ca_bundle,
    ca_problem,
    new_bundle,
    new_ca,
    not_after,
    not_before,
    reissue_serving,
    serving_problem,
)
from certs.stores import CertStore, StoreConflict

Decision = Literal["reuse", "reissue", "stage-ca", "switch-ca", "retire-ca", "regenerate"]
RENEWAL_MARGIN = datetime.timedelta(hours=12)
CA_LEAD = datetime.timedelta(days=60)
CA_SOAK = datetime.timedelta(days=1)


class CaBundleSink(Protocol):
    """Something that embeds the CA, such as the webhook configurations."""

    def update_ca_bundle(self, ca_bundle: str) -> None: ...


@dataclass(frozen=True)
class Outcome:
    bundle: CertBundle
    decision: Decision
    reason: str


@dataclass(frozen=True)
class Timing:
    """How early to renew: ``margin`` for the serving certificate, ``ca_lead`` and ``soak`` for a CA."""

    margin: datetime.timedelta = RENEWAL_MARGIN
    ca_lead: datetime.timedelta = CA_LEAD
    soak: datetime.timedelta = CA_SOAK


def _ca_step(
    bundle: CertBundle, now: datetime.datetime, timing: Timing
) -> tuple[CertBundle, Decision | None, str]:
    """The CA change due now, if any: ``(bundle, decision, reason)`` with decision None for none."""
    if bundle.next_ca_cert:
        staged_for = now - not_before(bundle.next_ca_cert)
        if staged_for >= timing.soak or ca_problem(bundle, now + timing.margin):
            switched = dataclasses.replace(bundle, ca_cert=bundle.next_ca_cert, ca_key=bundle.next_ca_key,
                                           next_ca_cert=b"", next_ca_key=b"", previous_ca_cert=bundle.ca_cert)
            return switched, "switch-ca", "the next CA has been published long enough"
        return bundle, None, ""
    if not_after(bundle.ca_cert) <= now + timing.ca_lead:
        cert, key = new_ca(now)
        staged = dataclasses.replace(bundle, next_ca_cert=cert, next_ca_key=key)
        return staged, "stage-ca", "the CA expires soon"
    if bundle.previous_ca_cert and not_after(bundle.previous_ca_cert) <= now:
        return dataclasses.replace(bundle, previous_ca_cert=b""), "retire-ca", "the previous CA expired"
    return bundle, None, ""


def _unusable(bundle: CertBundle | None, now: datetime.datetime, timing: Timing) -> str | None:
    """Why the bundle's CAs cannot carry on (a new CA is the only way out), or None."""
    if bundle is None:
        return None
    problem = ca_problem(bundle, now)
    if problem is None and not bundle.next_ca_cert:  # too late to stage a next CA
        problem = ca_problem(bundle, now + timing.margin)
    if problem is None:
        for pem in (bundle.next_ca_cert, bundle.previous_ca_cert):
            try:
                _ = pem and not_after(pem)
            except ValueError as err:
                problem = f"unreadable CA: {err}"
    return problem


def renew(
    bundle: CertBundle | None, names: ServingNames, now: datetime.datetime, timing: Timing = Timing()
) -> Outcome:
    """What to store so that the certificates stay valid from now until ``now + margin``."""
    problem = _unusable(bundle, now, timing)
    if bundle is None or problem:
        return Outcome(new_bundle(names, now), "regenerate", problem or "no certificates")
    changed, decision, reason = _ca_step(bundle, now, timing)
    serving = serving_problem(changed, names, now) or serving_problem(changed, names, now + timing.margin)
    if decision == "switch-ca" or serving:
        changed = reissue_serving(changed, names, now)
    if decision:
        return Outcome(changed, decision, reason + (f"; {serving}" if serving else ""))
    if serving:
        return Outcome(changed, "reissue", serving)
    return Outcome(bundle, "reuse", "valid")


def decide(
    bundle: CertBundle | None, names: ServingNames, now: datetime.datetime,
    margin: datetime.timedelta = RENEWAL_MARGIN,
) -> tuple[Decision, str]:
    """Only the decision of ``renew`` and its reason."""
    outcome = renew(bundle, names, now, Timing(margin=margin))
    return outcome.decision, outcome.reason


def ensure(
    store: CertStore, names: ServingNames, now: datetime.datetime,
    margin: datetime.timedelta = RENEWAL_MARGIN, sinks: Sequence[CaBundleSink] = (),
    timing: Timing | None = None,
) -> Outcome:
    """Bring the store to a bundle valid for ``margin``; push a changed trust bundle to every sink."""
    for attempt in tenacity.Retrying(retry=tenacity.retry_if_exception_type(StoreConflict),
                                     stop=tenacity.stop_after_attempt(5), reraise=True):
        with attempt, store.lock():  # a conflicting writer: start again from what it stored
            current = store.load()
            outcome = renew(current, names, now, timing or Timing(margin=margin))
            if outcome.bundle != current:
                store.save(outcome.bundle)
    if current is None or ca_bundle(outcome.bundle) != ca_bundle(current):
        for sink in sinks:
            sink.update_ca_bundle(ca_bundle(outcome.bundle))
    return outcome
