"""File events carry the owner flag computed in the kernel, and deleted and renamed names are
recorded with absolute paths, relative names resolved against the working directory or dirfd."""

from __future__ import annotations

import os
import tempfile

from tests.tracer.harness import Event, TracerProcess, files, kinds, traced

RENAMEAT = ("import os, sys\n"
            "d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
            "os.rename('old.txt', 'new.txt', src_dir_fd=d, dst_dir_fd=d)\n"
            "os.unlink('new.txt', dir_fd=d)\n")


def owner_flags(events: list[Event], path: str) -> set[bool]:
    return {e["owner"] for e in kinds(events, "file") if e["path"] == path}


def test_a_file_owned_by_the_reader_is_marked_owner_and_a_file_of_another_user_is_not(
        tracer: TracerProcess) -> None:
    work = os.path.realpath(tempfile.mkdtemp(prefix="varmor-owner-"))
    theirs = os.path.join(work, "theirs.txt")
    with open(theirs, "w") as f:
        f.write("x\n")
    os.chown(theirs, 65534, 65534)
    events = traced(tracer, f"cat /etc/shadow > /dev/null; cat {theirs} > /dev/null")
    assert owner_flags(events, "/etc/shadow") == {True}
    assert owner_flags(events, theirs) == {False}


def test_deleted_files_and_directories_are_recorded_as_delete(tracer: TracerProcess) -> None:
    work = os.path.realpath(tempfile.mkdtemp(prefix="varmor-delete-"))
    events = traced(tracer, f"cd {work}; touch gone.txt abs.txt; mkdir sub; rm gone.txt; "
                            f"rm {work}/abs.txt; rmdir sub")
    seen = files(events)
    assert "delete" in seen[f"{work}/gone.txt"]
    assert "delete" in seen[f"{work}/abs.txt"]
    assert {"create", "delete"} <= seen[f"{work}/sub/"]  # a directory: AppArmor's trailing "/"


def test_renames_record_both_names_and_resolve_them_against_the_directory_fd(
        tracer: TracerProcess) -> None:
    work = os.path.realpath(tempfile.mkdtemp(prefix="varmor-rename-"))
    sub = os.path.join(work, "sub")
    with open(os.path.join(work, "rename.py"), "w") as f:
        f.write(RENAMEAT)
    events = traced(tracer, f"cd {work}; touch a.txt; mv a.txt b.txt; mkdir sub; touch sub/old.txt; "
                            f"/usr/bin/python3 rename.py {sub}")
    seen = files(events)
    assert "rename" in seen[f"{work}/a.txt"]
    assert "rename" in seen[f"{work}/b.txt"]
    assert {"rename"} <= seen[f"{sub}/old.txt"]
    assert {"rename", "delete"} <= seen[f"{sub}/new.txt"]


WALK_DOWN = ("import os, sys; os.chdir(sys.argv[1]); "
             "[os.chdir(sys.argv[2]) for _ in range(int(sys.argv[3]))]; open(\"f.txt\").close()")


def make_deep(work: str, component: str, count: int) -> list[str]:
    """``count`` nested directories named ``component`` under ``work`` (past PATH_MAX too)."""
    fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(count):
        os.mkdir(component, dir_fd=fd)
        inner = os.open(component, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(os.open("f.txt", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
    os.close(fd)
    return [component] * count


def test_paths_are_limited_by_the_kernels_4096_bytes_not_by_a_component_count(tracer: TracerProcess) -> None:
    work = os.path.realpath(tempfile.mkdtemp(prefix="varmor-deep-"))
    many = make_deep(work, "d", 300)        # 300 components, 600 bytes: resolved in full
    os.mkdir(os.path.join(work, "long"))
    long = make_deep(os.path.join(work, "long"), "L" * 200, 25)   # 5,000 bytes: flagged
    events = traced(tracer, f"cat {os.path.join(work, *many, 'f.txt')} > /dev/null; "
                            f"python3 -c '{WALK_DOWN}' {work}/long {long[0]} {len(long)}")
    by_path = {e["path"]: e for e in kinds(events, "file")}
    deep = os.path.join(work, *many, "f.txt")
    assert deep in by_path and not by_path[deep].get("truncated")
    cut = [e for e in kinds(events, "file") if e.get("truncated")]
    assert cut and all(e["path"].endswith("/f.txt") and len(e["path"]) <= 4096 for e in cut)
    assert kinds(events, "stats")[-1]["paths_truncated"] == len(cut)


def test_a_name_longer_than_the_copy_buffer_is_flagged_not_cut_silently(tracer: TracerProcess) -> None:
    work = os.path.realpath(tempfile.mkdtemp(prefix="varmor-longname-"))
    os.mkdir(os.path.join(work, "x" * 200))
    name = f"{'x' * 200}/{'y' * 200}"
    events = traced(tracer, f"cd {work} && touch {name} && rm {name}")
    deletes = [e for e in kinds(events, "file") if "delete" in e["access"]]
    assert deletes and all(e.get("truncated") for e in deletes)
    assert not [e for e in deletes if e["path"] != f"{work}/{name}" and not e.get("truncated")]
