"""The system trees that path generalization never sends to the random-name classifier.

Upstream's trimPath (spec §4.9) leaves paths under ``/lib/``, ``/usr/lib/``, ``/usr/local/lib/``,
``/sys/``, ``/proc/`` (which has its own pid rule) and ``/var/lib/`` to their own rules. The list is
written out here, not read from the module, so that a prefix added, dropped or mistyped there
fails: each excluded tree keeps a random-looking component, and each near miss (a sibling directory
whose name merely starts the same way) has it replaced.
"""

from __future__ import annotations

import pytest

from generator.globbing import generalize

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
EXCLUDED = ["/lib/", "/usr/lib/", "/usr/local/lib/", "/sys/", "/var/lib/"]
NEAR_MISSES = ["/lib64/", "/library/", "/usr/lib64/", "/usr/libexec/", "/usr/local/libexec/",
               "/usr/local/share/", "/sysroot/", "/system/", "/var/library/", "/var/lib64/",
               "/var/log/", "/opt/lib/", "/srv/usr/lib/", "/home/var/lib/"]


@pytest.mark.parametrize("tree", EXCLUDED)
@pytest.mark.parametrize("letters", ["r", "rw"])
def test_random_components_under_an_excluded_tree_are_kept(tree: str, letters: str) -> None:
    path = f"{tree}app/{UUID}/state.db"
    assert generalize(path, letters) == path


@pytest.mark.parametrize("tree", NEAR_MISSES)
def test_random_components_under_a_tree_that_only_starts_like_an_excluded_one_are_replaced(tree: str) -> None:
    assert generalize(f"{tree}app/{UUID}/state.db", "rw") == f"{tree}app/*/state.db"


def test_proc_keeps_its_own_rule_and_is_not_classified() -> None:
    token = "d9cb469fa16570867728950e0f8fad5b"
    assert generalize(f"/proc/42/root/{token}", "r") == f"/proc/*/root/{token}"
    assert generalize(f"/processes/{token}", "r") == "/processes/*"
    assert generalize(f"/procfs/{token}", "r") == "/procfs/*"


def test_an_excluded_tree_is_matched_from_the_root_only() -> None:
    assert generalize(f"/data/usr/lib/{UUID}", "r") == "/data/usr/lib/*"
    assert generalize(f"/data/sys/{UUID}", "r") == "/data/sys/*"
