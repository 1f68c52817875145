"""Crash-test worker: commits deterministic random batches forever, printing each height.

Run as ``python -m tests.chain.store.crash_worker DB_PATH KEEP_RECENT``. The batch of height h
depends only on h (see ``batch``), so the test can replay the expected state of any height.
"""

from __future__ import annotations

import random
import sys

from chain.store import CommitStore

KEYS = 3000  # distinct keys the batches draw from


def batch(height: int) -> dict[bytes, bytes | None]:
    """The change set committed at ``height``: 50..1500 keys, about 20% deletes."""
    rng = random.Random(height)
    return {
        b"crash/%d" % rng.randrange(KEYS): None if rng.random() < 0.2 else rng.randbytes(20)
        for _ in range(rng.randrange(50, 1500))
    }


def main() -> None:
    store = CommitStore(sys.argv[1], keep_recent=int(sys.argv[2]))
    while True:
        height = store.last_height + 1
        store.stage(height, batch(height))
        store.commit(extra_meta={b"height": b"%d" % height})
        print(height, flush=True)


if __name__ == "__main__":
    main()
