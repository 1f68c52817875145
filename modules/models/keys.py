"""Store keys of the models module."""

MODEL = b"models/model/"  # + model id (UTF-8, [a-z0-9._-]{1,64}) -> infera.models.v1.Model
PARAMS = b"models/params"  # -> infera.models.v1.Params


def model_key(model_id: str) -> bytes:
    return MODEL + model_id.encode()
