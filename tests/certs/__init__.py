"""Tests of the CA, the serving certificate, their storage and rotation."""
