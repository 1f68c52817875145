"""Store keys of the tee module."""

from chain.keys import bounded

ATTESTATION = b"tee/att/"  # + operator (20 raw bytes) -> infera.tee.v1.Attestation
REQUIREMENT = b"tee/req/"  # + model id (UTF-8) -> infera.tee.v1.ModelRequirement
MEASUREMENT = b"tee/meas/"  # + measurement hex + b"/" + model id -> b"": models allowing it
PARAMS = b"tee/params"  # -> infera.tee.v1.Params

MAX_MODEL_ID_BYTES = 64


def attestation_key(operator: bytes) -> bytes:
    return ATTESTATION + operator


def requirement_key(model_id: str) -> bytes:
    return REQUIREMENT + bounded(model_id, limit=MAX_MODEL_ID_BYTES, what="model id")


def measurement_prefix(measurement_hex: str) -> bytes:
    """All models allowing this measurement (hex is [0-9a-f], so it never contains b"/")."""
    return MEASUREMENT + measurement_hex.encode("ascii") + b"/"


def measurement_key(measurement_hex: str, model_id: str) -> bytes:
    return measurement_prefix(measurement_hex) + bounded(
        model_id, limit=MAX_MODEL_ID_BYTES, what="model id"
    )
