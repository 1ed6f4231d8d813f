"""Finishing a model: render both profiles, check the AppArmor one, store them base64 (seed fields).

A model that cannot be rendered, or whose profile ``apparmor_parser`` rejects, is not stored with an
empty profile: the model's status gets ``Ready False`` with reason ``Error`` and the message, and the
policy turns ``Error``. ``check`` is the port to ``apparmor_parser`` (``generator.checking``).
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable, Mapping
from typing import Any

from api import conditions as c
from api.types import mapping
from controller.timings import RENDER_SECONDS
from generator.checking import ParserCheck
from generator.codec import from_data
from generator.render import RenderError, render_apparmor, render_seccomp

Check = Callable[[str], ParserCheck]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8", "surrogateescape")).decode("ascii")


def render(data: Mapping[str, Any], name: str, check: Check) -> tuple[dict[str, str], str | None]:
    """``(data.profile, None)``, or ``({}, reason)`` when the profiles cannot be made (timed)."""
    with RENDER_SECONDS.time():
        return _render(data, name, check)


def _render(data: Mapping[str, Any], name: str, check: Check) -> tuple[dict[str, str], str | None]:
    try:
        model = from_data(data)
        apparmor = render_apparmor(model, name)
        seccomp = render_seccomp(model)
    except (RenderError, KeyError, TypeError, ValueError) as error:
        return {}, f"The profiles could not be rendered: {error}"
    verdict = check(apparmor)
    if not verdict.ok:
        return {}, f"apparmor_parser rejected the profile: {verdict.message}"
    return {"name": name, "enforcer": "", "mode": "", "content": _b64(apparmor),
            "seccompContent": _b64(seccomp)}, None


def completed(model: Mapping[str, Any], name: str, check: Check, now: datetime.datetime) -> dict[str, Any]:
    """The model after completion: profiles stored and ``ready``, or the error on its status."""
    profile, error = render(mapping(model.get("data")), name, check)
    status = dict(mapping(model.get("status")))
    result = dict(model)
    if error:
        status["conditions"] = c.set_condition(status.get("conditions"),
                                               c.condition(c.READY, c.FALSE, now, c.REASON_ERROR, error))
        status["ready"] = False
    else:
        result["data"] = {**dict(mapping(model.get("data"))), "profile": profile}
        status["ready"] = True
        status["conditions"] = c.set_condition(status.get("conditions"),
                                               c.condition(c.READY, c.TRUE, now, c.REASON_ALL_AGENTS_READY))
    result["status"] = status
    return result
