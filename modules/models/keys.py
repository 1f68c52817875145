"""Store keys of the models module."""

from chain.keys import bounded

MODEL = b"models/model/"  # + model id (UTF-8, [a-z0-9._-]{1,64}) -> infera.models.v1.Model
PARAMS = b"models/params"  # -> infera.models.v1.Params

MAX_MODEL_ID_BYTES = 64  # a model id is [a-z0-9._-]{1,64}: one byte per character


def model_key(model_id: str) -> bytes:
    """Raises ``ErrInvalidRequest`` for an id over 64 bytes (no such model can exist)."""
    return MODEL + bounded(model_id, limit=MAX_MODEL_ID_BYTES, what="model id")
