"""Tests of the admission webhook: golden vectors, validation matrix, TLS server, properties."""
