"""HTTP serving for every HTTPS endpoint of varmor-py: the admission webhook and the status service.

One home for what those servers share: the hardened TLS context and its certificate reloading
(``tls``), the gunicorn setup with a slow-client-proof worker (``workers``, ``servers``) and their
typed settings (``settings``). Apps are plain Flask app factories; nothing here knows about
admission, policies or the cluster (an import contract in pyproject.toml keeps it that way).
"""
