"""Tests of the Helm chart (manifests/varmor) and its rendered default (manifests/varmor.yaml)."""
