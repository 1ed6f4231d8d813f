"""The eBPF node tracer: BCC tracepoint programs that record what target containers do.

``tracer.cli`` is the ``app.py tracer`` entry point; ``tracer.program`` builds and loads the
BPF program (``tracer/bpf/tracer.c``) with struct offsets from BTF (``tracer.btf``);
``tracer.tracing`` manages targets and turns kernel records into schema v1 events with
``tracer.decoding``. Only this package imports ``bcc``.
"""
