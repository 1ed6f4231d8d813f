"""``/metrics`` of the webhook counts admission requests by operation and result and times them."""

from __future__ import annotations

import json
import re

from tests.api.test_policies_are_validated_with_upstream_messages import vpol
from tests.webhook.helpers import review
from webhook.policies import StaticPolicySource
from webhook.server import create_app
from webhook.settings import WebhookSettings


def _sample(text: str, name: str, labels: str) -> float:
    match = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", text, re.MULTILINE)
    assert match is not None, f"{name}{{{labels}}} missing from:\n{text}"
    return float(match.group(1))


def test_requests_are_counted_by_result_and_timed() -> None:
    client = create_app(WebhookSettings(), StaticPolicySource([])).test_client()
    headers = {"Content-Type": "application/json"}
    pod = review({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}, "Pod", "demo")
    assert client.post("/mutate", data=json.dumps(pod), headers=headers).status_code == 200
    denied = review(vpol(modelingOptions=None), "VarmorPolicy", "demo")
    answer = client.post("/validate", data=json.dumps(denied), headers=headers)
    assert answer.json is not None and answer.json["response"]["allowed"] is False
    assert client.post("/validate", data=json.dumps(review(vpol(), "VarmorPolicy", "demo")),
                       headers=headers).status_code == 200
    assert client.post("/mutate", data=b"{", headers=headers).status_code == 400
    text = client.get("/metrics").get_data(as_text=True)
    assert _sample(text, "varmor_admission_requests_total", 'operation="mutate",result="allowed"') == 1
    assert _sample(text, "varmor_admission_requests_total", 'operation="mutate",result="malformed"') == 1
    assert _sample(text, "varmor_admission_requests_total", 'operation="validate",result="denied"') == 1
    assert _sample(text, "varmor_admission_requests_total", 'operation="validate",result="allowed"') == 1
    assert _sample(text, "varmor_admission_request_seconds_count", 'operation="mutate"') == 2
    assert _sample(text, "varmor_admission_request_seconds_count", 'operation="validate"') == 2
