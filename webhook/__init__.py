"""The manager's admission front door: mutation of opted-in workloads and validation of policies.

Pure core: ``reviews`` (AdmissionReview v1 wire format and ``ReviewError``), ``policies`` (policy
view and the ``PolicySource`` port), ``selectors``, ``mutating`` (upstream spec §2.2/§2.3),
``validating`` (§2.4) and ``registrations`` (webhook configuration objects). Edges: ``server``
(Flask app factory), ``serving`` (gunicorn with TLS) and the ``cli*`` modules.
"""
