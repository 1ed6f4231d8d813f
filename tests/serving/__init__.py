"""Tests of the shared HTTPS serving home."""
