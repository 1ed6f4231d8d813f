"""Kernel-function calls: the program reads the current task through the kfunc bpf_rdonly_cast (no
helper call); BCC compiles such a call as a call to a marked helper number, which the loader turns
into a kfunc call by BTF id before the kernel sees it."""

from __future__ import annotations

import pytest

from tracer import kernel, objects, program
from tracer.btf import BTF

INSN = objects.INSN
TASK_PT_REGS = 175  # BPF_FUNC_task_pt_regs


def call(src: int, imm: int) -> bytes:
    return INSN.pack(kernel.CALL, src << 4, 0, imm)


def test_a_call_to_a_marked_helper_number_becomes_a_kfunc_call_by_its_btf_id() -> None:
    helper, marked, local = call(0, 14), call(0, kernel.KFUNC_MARK | 65425), call(1, kernel.KFUNC_MARK | 3)
    load_imm = INSN.pack(0x18, 0x01, 0, kernel.KFUNC_MARK | 7) + INSN.pack(0, 0, 0, 0)

    out = kernel.kfunc_calls(helper + marked + local + load_imm)

    assert out[:8] == helper and out[16:] == local + load_imm   # helpers, bpf-to-bpf calls, data: kept
    assert INSN.unpack(out[8:16]) == (kernel.CALL, kernel.PSEUDO_KFUNC_CALL << 4, 0, 65425)


def test_the_running_kernels_kfunc_and_task_struct_ids_come_from_its_btf() -> None:
    btf = BTF()
    flags = program.btf_flags(btf)
    assert flags["KFUNC_RDONLY_CAST"] == btf.func_id("bpf_rdonly_cast") > 0
    assert flags["BTF_TASK_STRUCT"] == btf.struct_id("task_struct") > 0
    assert btf.func_id("no_such_kernel_function") == -1


def test_the_compiled_program_reads_the_task_through_the_kfunc_on_this_kernel() -> None:
    compiled = program.compiled(program.cflags())
    marked = {prog.name for prog in compiled.progs for at in range(0, len(prog.insns), 8)
              if INSN.unpack_from(prog.insns, at)[0] == kernel.CALL
              and INSN.unpack_from(prog.insns, at)[3] & kernel.KFUNC_MARK}
    assert "raw_tracepoint__sys_exit" in marked and "fd_prog" in marked


def test_this_kernels_verifier_takes_untyped_reads_and_the_program_is_built_for_them() -> None:
    rdonly_cast = BTF().func_id("bpf_rdonly_cast")
    assert kernel.void_cast_supported(rdonly_cast)              # Linux 6.17+: the machine runs 6.18
    assert not kernel.void_cast_supported(BTF().struct_id("task_struct"))   # not a kfunc: refused
    assert not kernel.void_cast_supported(-1)                   # no bpf_rdonly_cast at all
    assert "-DKFUNC_VOID_CAST=1" in program.cflags()


def test_a_program_the_verifier_refuses_fails_with_the_verifiers_reason() -> None:
    r0_unset_exit = INSN.pack(0x95, 0, 0, 0)                    # exit with r0 never written
    bad = objects.Compiled("GPL", (), (objects.ProgSpec("tracepoint__bad", r0_unset_exit, ()),))
    with pytest.raises(kernel.KernelError) as refused:
        kernel.Loaded(bad)
    assert "program tracepoint__bad" in str(refused.value)
    assert "R0 !read_ok" in str(refused.value)                  # the verifier's own words


def helper_calls(compiled: objects.Compiled, prog: str) -> set[int]:
    """The helper numbers program ``prog`` calls (kfunc calls left out)."""
    [found] = [p for p in compiled.progs if p.name == prog]
    calls = (INSN.unpack_from(found.insns, at) for at in range(0, len(found.insns), 8))
    return {imm for code, regs, _off, imm in calls if code == kernel.CALL and not regs & 0xF0
            and not imm & kernel.KFUNC_MARK}


def test_the_program_for_kernels_without_untyped_reads_loads_too() -> None:
    """Before Linux 6.17 the program reads kernel memory with bpf_probe_read_kernel and finds the saved
    registers with bpf_task_pt_regs; that build must load and attach as well (here, on 6.18)."""
    flags = [f for f in program.cflags() if not f.startswith("-DKFUNC_VOID_CAST=")] + ["-DKFUNC_VOID_CAST=0"]
    old, new = program.compiled(flags), program.compiled(program.cflags())
    assert TASK_PT_REGS in helper_calls(old, "raw_tracepoint__sys_exit")
    assert TASK_PT_REGS not in helper_calls(new, "raw_tracepoint__sys_exit")   # the tracepoint's argument
    loaded, _names = program.load(flags)
    try:
        assert "raw_tracepoint__sys_exit" in loaded.progs and "fd_prog" in loaded.progs
    finally:
        loaded.cleanup()
