"""File events carry the owner flag computed in the kernel, and deleted and renamed names are
recorded with absolute paths, relative names resolved against the working directory or dirfd."""

from __future__ import annotations

import os
import tempfile

from tests.tracer.harness import Container, Event, TracerProcess, files, kinds

RENAMEAT = ("import os, sys\n"
            "d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)\n"
            "os.rename('old.txt', 'new.txt', src_dir_fd=d, dst_dir_fd=d)\n"
            "os.unlink('new.txt', dir_fd=d)\n")


def traced(tracer: TracerProcess, script: str) -> list[Event]:
    ctr = Container(script)
    try:
        tracer.add(ctr.name, f"cgroup={ctr.cgroup}")
        ctr.run()
        return tracer.remove(ctr.name)
    finally:
        ctr.remove()


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
    assert "delete" in seen[f"{work}/sub"]


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


def test_deep_paths_are_resolved_in_full_up_to_forty_components_and_flagged_truncated_beyond(
        tracer: TracerProcess) -> None:
    work = os.path.realpath(tempfile.mkdtemp(prefix="varmor-deep-"))
    shallow = os.path.join(work, *["s"] * (30 - work.count("/") - 1), "f.txt")
    deep = os.path.join(work, *["d"] * 45, "f.txt")
    for path in (shallow, deep):
        os.makedirs(os.path.dirname(path))
        open(path, "w").close()
    events = traced(tracer, f"cat {shallow} {deep} > /dev/null")
    by_path = {e["path"]: e for e in kinds(events, "file")}
    assert shallow.count("/") == 30 and not by_path[shallow].get("truncated")
    cut = [e for e in kinds(events, "file") if e.get("truncated")]
    assert cut and all(deep.endswith(e["path"]) and len(e["path"]) < len(deep) for e in cut)
