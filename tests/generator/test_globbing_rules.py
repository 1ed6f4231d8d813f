"""Path generalization: upstream's trimPath vectors and one test per globbing rule."""

from __future__ import annotations

import pytest

from generator.globbing import generalize

UPSTREAM_PROC_VECTORS = [
    ("/proc/1", "/proc/*"),
    ("/proc/1/", "/proc/*/"),
    ("/proc/1106048/fdinfo/10", "/proc/*/fdinfo/*"),
    ("/proc/1106110/net/ip6_tables_names", "/proc/*/net/ip6_tables_names"),
    ("/proc/1106048/task/10", "/proc/*/task/*"),
    ("/proc/9/fd/107", "/proc/*/fd/*"),
    ("/proc/1106048/mountinfo", "/proc/*/mountinfo"),
    ("/proc/122/map_files", "/proc/*/map_files"),
    ("/proc/122/map_files/5565eaa95000-5565eaac3000", "/proc/*/map_files/*"),
]


@pytest.mark.parametrize(("raw", "expected"), UPSTREAM_PROC_VECTORS)
def test_upstream_trim_path_proc_vectors(raw: str, expected: str) -> None:
    assert generalize(raw, "wr") == expected


def test_proc_digits_without_trailing_boundary_follow_upstream() -> None:
    assert generalize("/proc/123abc", "r") == "/proc/*abc"


def test_read_only_library_files_collapse_to_their_tree() -> None:
    assert generalize("/usr/lib/x86_64-linux-gnu/libidn2.so.0.3.4", "rm") == "/usr/lib/x86_64-linux-gnu/**"
    assert generalize("/lib/x86_64-linux-gnu/libc.so.6", "r") == "/lib/x86_64-linux-gnu/**"
    assert generalize("/usr/lib/aarch64-linux-gnu/libc.so.6", "m") == "/usr/lib/aarch64-linux-gnu/**"


def test_aarch64_lib_tree_is_globbed_too_unlike_upstream() -> None:
    assert generalize("/lib/aarch64-linux-gnu/libc.so.6", "r") == "/lib/aarch64-linux-gnu/**"


def test_library_tree_itself_stays_as_is() -> None:
    assert generalize("/usr/lib/x86_64-linux-gnu/", "r") == "/usr/lib/x86_64-linux-gnu/"


@pytest.mark.parametrize("letters", ["w", "a", "l", "k", "rw"])
def test_written_library_files_are_not_collapsed(letters: str) -> None:
    path = "/usr/lib/x86_64-linux-gnu/libfoo.so.1"
    assert generalize(path, letters) == path


def test_anything_under_tmp_becomes_tmp_star_star_whatever_the_access() -> None:
    assert generalize("/tmp/build/x.o", "w") == "/tmp/**"
    assert generalize("/tmp/", "r") == "/tmp/"
    assert generalize("/tmp", "r") == "/tmp"


@pytest.mark.parametrize("root", ["/run/secrets/kubernetes.io/serviceaccount/",
                                  "/var/run/secrets/kubernetes.io/serviceaccount/"])
def test_service_account_files_collapse(root: str) -> None:
    assert generalize(root + "..2026_11_28_14_00_00.123/token", "r") == root + "**"


def test_overlay_snapshot_ids_become_stars() -> None:
    prefix = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/"
    assert generalize(prefix + "123/fs/etc/x", "r") == prefix + "*/fs/etc/x"


def test_snapshot_ids_outside_known_prefixes_are_starred_between_snapshots_and_fs() -> None:
    path = "/data/containerd/snapshots/77/fs/bin/sh"
    assert generalize(path, "r") == "/data/containerd/snapshots/*/fs/bin/sh"


def test_custom_overlay_prefix_stars_every_standalone_number() -> None:
    got = generalize("/k3s/snapshots/12/fs/a/7", "r", overlay_prefixes=["/k3s/snapshots/"])
    assert got == "/k3s/snapshots/*/fs/a/*"


@pytest.mark.parametrize("path", ["/sys/fs/cgroup/cpu.max", "/var/lib/dpkg/status",
                                  "/usr/local/lib/python3.11/a1b2c3d4e5f60718293a4b5c6d7e8f90.pyc"])
def test_system_trees_are_never_classified(path: str) -> None:
    assert generalize(path, "r") == path


def test_random_components_elsewhere_become_a_whole_star() -> None:
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert generalize(f"/var/cache/app/{uuid}/data", "rw") == "/var/cache/app/*/data"


def test_meaningful_components_stay() -> None:
    assert generalize("/etc/ssl/certs/ca-certificates.crt", "r") == "/etc/ssl/certs/ca-certificates.crt"


def test_classification_can_be_turned_off() -> None:
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert generalize(f"/data/{uuid}", "r", classify=False) == f"/data/{uuid}"


def test_escaped_components_are_never_classified() -> None:
    assert generalize("/data/a\\*0f8fad5bd9cb469fa16570867728950e", "r") == \
        "/data/a\\*0f8fad5bd9cb469fa16570867728950e"
