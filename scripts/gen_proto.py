"""Regenerate the Python code for proto/ into server/toolrank/v1/ (run from anywhere).

    python scripts/gen_proto.py

Needs grpcio-tools (the ``dev`` or ``test`` extra). The output is committed and
never edited by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto"))
    args = [
        "grpc_tools.protoc",
        f"-I{ROOT / 'proto'}",
        f"--python_out={ROOT / 'server'}",
        f"--pyi_out={ROOT / 'server'}",
        f"--grpc_python_out={ROOT / 'server'}",
        *protos,
    ]
    code = protoc.main(args)
    init = ROOT / "server" / "toolrank" / "v1" / "__init__.py"
    init.write_text('"""Generated protobuf and gRPC code for toolrank.v1 (scripts/gen_proto.py)."""\n')
    return code


if __name__ == "__main__":
    sys.exit(main())
