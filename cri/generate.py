"""Regenerate ``runtime_pb2.py``/``.pyi`` from ``runtime.proto`` with the pinned grpcio-tools.

Run ``python -m cri.generate`` after editing the proto; the output is committed, so the
protobuf runtime pinned in requirements.txt must accept the gencode version grpcio-tools writes.
"""

from __future__ import annotations

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def main() -> int:
    from grpc_tools import protoc

    args = ["protoc", f"-I{HERE}", f"--python_out={HERE}", f"--pyi_out={HERE}", str(HERE / "runtime.proto")]
    return int(protoc.main(args))


if __name__ == "__main__":
    sys.exit(main())
