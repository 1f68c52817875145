"""One pipeline hop in its own process, for the cross-process tests.

    python hop_process.py MODEL_DIR START END

Speaks frames over stdin/stdout: a u32 little-endian length, then the body. The hop answers
b"ready" once loaded, then for each frame:

* ``b"S" + codec name``: start a new session (fresh KV cache) using that wire codec; answers b"ok";
* ``b"D" + data``: one step of the session. The first hop's data is token ids (int64
  little-endian), the others' is hidden states in the session's codec. The last hop answers
  with the greedy next token (int64), the others with their output hidden states in the codec;
* an empty frame: exit.
"""

from __future__ import annotations

import struct
import sys
from typing import BinaryIO

import torch

from inference_worker.pipeline.codec import decode, encode
from inference_worker.pipeline.shard import load_shard


def read_frame(stream: BinaryIO) -> bytes:
    (length,) = struct.unpack("<I", stream.read(4))
    return stream.read(length)


def write_frame(stream: BinaryIO, body: bytes) -> None:
    stream.write(struct.pack("<I", len(body)) + body)
    stream.flush()


def main(model_dir: str, start: int, end: int) -> None:
    shard = load_shard(model_dir, start, end)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    write_frame(stdout, b"ready")
    cache, codec = shard.new_cache(), "fp32"
    while frame := read_frame(stdin):
        kind, body = frame[:1], frame[1:]
        if kind == b"S":
            cache, codec = shard.new_cache(), body.decode()
            write_frame(stdout, b"ok")
            continue
        if shard.is_first:
            ids = torch.frombuffer(bytearray(body), dtype=torch.int64).unsqueeze(0)  # (1, seq)
            hidden = shard.embed(ids, cache=cache)
        else:
            hidden = decode(body, codec)  # (1, seq, hidden)
        hidden = shard.forward(hidden, cache=cache)
        if shard.is_last:
            write_frame(stdout, struct.pack("<q", int(shard.head(hidden).argmax(-1))))
        else:
            write_frame(stdout, encode(hidden, codec))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
