# The varmor-py image (manager, agent and every other role: `varmor ROLE ...`), for users with an
# image builder. `make image` builds the same image without a daemon (scripts/build-image.sh).
FROM debian:bookworm-slim

COPY scripts/image-packages.txt /tmp/image-packages.txt
RUN apt-get update \
 && grep -v '^\s*#' /tmp/image-packages.txt | xargs apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/image-packages.txt

WORKDIR /opt/varmor
COPY requirements.txt ./
RUN python3 -m venv .venv && .venv/bin/pip install --no-cache-dir -r requirements.txt
COPY app.py pyproject.toml ./
COPY api ./api
COPY manager ./manager
COPY serving ./serving
COPY agent ./agent
COPY certs ./certs
COPY controller ./controller
COPY generator ./generator
COPY tracer ./tracer
COPY webhook ./webhook
COPY cri ./cri
COPY scripts/install.d ./scripts/install.d
# BCC inside the virtualenv and a merged kernel headers tree for its prelude.
RUN bash scripts/install.d/20-bcc.sh \
 && printf '#!/bin/sh\nexec /opt/varmor/.venv/bin/python /opt/varmor/app.py "$@"\n' > /usr/local/bin/varmor \
 && chmod 755 /usr/local/bin/varmor

ENTRYPOINT ["varmor"]
