"""Store keys of the zk module."""

from chain.keys import bounded

KEY = b"zk/key/"  # + key id ([a-z0-9._-]{1,64}) -> infera.zk.v1.VerifyingKey
MODEL_KEY = b"zk/model/"  # + model id -> key id (UTF-8): the key that settles the model's jobs
PROOF = b"zk/proof/"  # + job id (8 bytes big-endian) -> infera.zk.v1.ProofRecord
PENDING = b"zk/pending/"  # + job id (8 bytes) -> b"": this block's batch, emptied at end-block
PARAMS = b"zk/params"  # -> infera.zk.v1.Params

MAX_ID_BYTES = 64


def key_key(key_id: str) -> bytes:
    return KEY + bounded(key_id, limit=MAX_ID_BYTES, what="key id")


def model_key(model_id: str) -> bytes:
    return MODEL_KEY + bounded(model_id, limit=MAX_ID_BYTES, what="model id")


def proof_key(job_id: int) -> bytes:
    return PROOF + job_id.to_bytes(8, "big")


def pending_key(job_id: int) -> bytes:
    return PENDING + job_id.to_bytes(8, "big")
