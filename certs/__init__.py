"""TLS material for the webhook and the status service: a self-signed CA and a serving certificate.

``authority`` issues and checks certificates (pure over ``cryptography`` objects), ``stores`` keeps
them (a directory here; the in-cluster Secret store belongs to the controller), and ``rotating``
decides whether to reuse, re-issue or regenerate, and tells listeners when the CA bundle changes.
"""
