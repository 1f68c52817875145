"""Run every benchmark under bench/ (each prints its table and writes bench/results/<name>.json).

Usage: python bench/run_all.py [--quick] [NAME ...]   e.g. `run_all.py store throughput`
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    wanted = [a for a in argv if not a.startswith("-")]
    scripts = sorted(HERE.glob("bench_*.py"))
    if wanted:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in wanted]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        start = time.monotonic()
        args = [sys.executable, str(script)] + (["--quick"] if quick else [])
        if subprocess.call(args) != 0:
            failed.append(script.stem)
        print(f"({script.stem}: {time.monotonic() - start:.0f} s)", flush=True)
    if failed:
        print("failed:", ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
