"""Reuse, re-issue or regenerate the certificates, and keep every ``caBundle`` in sync.

``decide`` is pure: a bundle that stays valid for ``margin`` is reused; an expiring or mis-named
serving certificate is re-issued by the same CA (the ``caBundle`` does not change); an absent,
unreadable or expiring CA means a new CA and a new serving certificate. ``ensure`` applies the
decision to a store and tells each ``CaBundleSink`` (e.g. the webhook configurations) about a new CA.
Upstream checks every 12 h whether the chain is still valid 12 h later (spec §2.5).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from certs.authority import (
    CertBundle,
    ServingNames,
    ca_bundle,
    ca_problem,
    new_bundle,
    reissue_serving,
    serving_problem,
)
from certs.stores import CertStore

Decision = Literal["reuse", "reissue", "regenerate"]
RENEWAL_MARGIN = datetime.timedelta(hours=12)


class CaBundleSink(Protocol):
    """Something that embeds the CA, such as the webhook configurations."""

    def update_ca_bundle(self, ca_bundle: str) -> None: ...


@dataclass(frozen=True)
class Outcome:
    bundle: CertBundle
    decision: Decision
    reason: str


def decide(
    bundle: CertBundle | None, names: ServingNames, now: datetime.datetime,
    margin: datetime.timedelta = RENEWAL_MARGIN,
) -> tuple[Decision, str]:
    """What to do with ``bundle`` so that it stays valid from now until ``now + margin``."""
    if bundle is None:
        return "regenerate", "no certificates"
    later = now + margin
    problem = ca_problem(bundle, now) or ca_problem(bundle, later)
    if problem:
        return "regenerate", problem
    problem = serving_problem(bundle, names, now) or serving_problem(bundle, names, later)
    if problem:
        return "reissue", problem
    return "reuse", "valid"


def ensure(
    store: CertStore, names: ServingNames, now: datetime.datetime,
    margin: datetime.timedelta = RENEWAL_MARGIN, sinks: Sequence[CaBundleSink] = (),
) -> Outcome:
    """Bring the store to a bundle valid for ``margin``; push a changed CA to every sink."""
    current = store.load()
    decision, reason = decide(current, names, now, margin)
    if decision == "reuse" and current is not None:
        bundle = current
    elif decision == "reissue" and current is not None:
        bundle = reissue_serving(current, names, now)
    else:
        bundle = new_bundle(names, now)
    if bundle is not current:
        store.save(bundle)
    if current is None or bundle.ca_cert != current.ca_cert:
        for sink in sinks:
            sink.update_ca_bundle(ca_bundle(bundle))
    return Outcome(bundle, decision, reason)
