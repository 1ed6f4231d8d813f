"""Regenerate ``generator/syscalls_table.py`` from the machine's libseccomp.

Run once by hand when libseccomp gains syscalls; the output is committed, so nothing reads
libseccomp or kernel headers at run or test time. libseccomp is the source of truth because
OCI seccomp JSON uses its names. Kernel headers, when present, are only cross-checked and the
differences printed (a header name libseccomp lacks is added, so a new syscall is not lost).

    .venv/bin/python tests/generator/data/make_syscalls.py > generator/syscalls_table.py
"""

from __future__ import annotations

import pathlib
import re
import sys

import pyseccomp

# audit arch (AUDIT_ARCH_*, also libseccomp's SCMP_ARCH_* token) → our arch name
ARCHES = {"c000003e": "x86_64", "c00000b7": "aarch64", "40000003": "i386"}
HEADERS = {
    "x86_64": "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
    "i386": "/usr/include/x86_64-linux-gnu/asm/unistd_32.h",
}
MAX_NUMBER = 1100


def from_libseccomp(audit_arch: str) -> dict[int, str]:
    token = int(audit_arch, 16)
    table: dict[int, str] = {}
    for number in range(MAX_NUMBER):
        try:
            table[number] = pyseccomp.resolve_syscall(token, number).decode()
        except ValueError:
            continue
    return table


def from_header(path: str) -> dict[int, str]:
    file = pathlib.Path(path)
    if not path or not file.is_file():
        return {}
    pattern = re.compile(r"^#define __NR_(\w+)\s+(\d+)\s*$", re.MULTILINE)
    return {int(number): name for name, number in pattern.findall(file.read_text())}


def build(arch: str, audit_arch: str) -> dict[int, str]:
    table = from_libseccomp(audit_arch)
    for number, name in from_header(HEADERS.get(arch, "")).items():
        if table.get(number) != name:
            print(f"# {arch} {number}: libseccomp={table.get(number)} header={name}", file=sys.stderr)
        table.setdefault(number, name)
    return dict(sorted(table.items()))


def main() -> None:
    out = [
        '"""Syscall number → name tables per architecture (generated, do not edit).',
        "",
        "Made by tests/generator/data/make_syscalls.py from libseccomp; names are libseccomp's,",
        "as OCI seccomp JSON uses them. Read through ``generator.syscalls``.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "TABLES: dict[str, dict[int, str]] = {",
    ]
    for audit_arch, arch in ARCHES.items():
        out.append(f'    "{arch}": {{')
        out.extend(f'        {number}: "{name}",' for number, name in build(arch, audit_arch).items())
        out.append("    },")
    out.append("}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
