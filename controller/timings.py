"""The manager's work-time histograms (Prometheus): merging node reports and rendering profiles.

Defined once per process on the default registry; the manager runs prometheus_client in multiprocess
mode, so the status service's ``/metrics`` shows the samples of the process that did the work (the
status service merges, the leader's controllers render).
"""

from __future__ import annotations

from prometheus_client import Histogram

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
MERGE_SECONDS = Histogram("varmor_model_merge_seconds", "Time to merge a group of node reports into a model",
                          buckets=_BUCKETS)
RENDER_SECONDS = Histogram("varmor_model_render_seconds",
                           "Time to render and check the AppArmor and seccomp profiles of a model",
                           buckets=_BUCKETS)
