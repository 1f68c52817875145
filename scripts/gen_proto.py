"""Generate Python code for proto/infera/**.proto into chain/pb (or a given folder).

Usage: python scripts/gen_proto.py [OUT_DIR]      (default chain/pb)
       python scripts/gen_proto.py --check        (fail when chain/pb is stale)
"""

from __future__ import annotations

import filecmp
import pathlib
import sys
import tempfile

from grpc_tools import protoc

ROOT = pathlib.Path(__file__).resolve().parent.parent
PROTO = ROOT / "proto"
DEFAULT_OUT = ROOT / "chain" / "pb"


def generate(out: pathlib.Path) -> None:
    import grpc_tools

    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    files = sorted(str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto"))
    args = [
        "protoc",
        f"-I{PROTO}",
        f"-I{include}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")


def generated_files(out: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p.relative_to(out) for p in (out / "infera").rglob("*.py*"))


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = pathlib.Path(tmp)
        generate(fresh)
        expected, actual = (
            generated_files(fresh),
            generated_files(DEFAULT_OUT) if (DEFAULT_OUT / "infera").exists() else [],
        )
        stale = [
            str(p)
            for p in expected
            if p not in actual or not filecmp.cmp(fresh / p, DEFAULT_OUT / p, shallow=False)
        ]
        stale += [str(p) for p in actual if p not in expected]
        if stale:
            print("generated protobuf code is stale; run `make proto`:", *stale, sep="\n  ")
            return 1
    print("generated protobuf code is up to date")
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    generate(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT)
