"""The node agent side of varmor-py: local modeling, profile verification and the demo.

``agent.localmode`` runs the tracer (``tracer``) as a supervised subprocess and turns what it
records into profiles with ``generator``; ``agent.verifying`` replays a command under a
generated seccomp profile; ``agent.demo`` strings both together for ``make demo``.
"""
