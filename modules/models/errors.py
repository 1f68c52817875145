"""models errors (codespace "models"); codes are stable."""

from chain.errors import register

CODESPACE = "models"
ErrInvalidModelId = register(CODESPACE, 2, "model id must match [a-z0-9._-]{1,64}")
ErrUnknownFamily = register(CODESPACE, 3, "unknown model family")
ErrInvalidLayerCount = register(CODESPACE, 4, "invalid layer count")
ErrInvalidCommitment = register(CODESPACE, 5, "invalid weight commitment")
ErrWeightsRootMismatch = register(CODESPACE, 6, "weights root does not match the layer commitments")
ErrInvalidBytesPerLayer = register(CODESPACE, 7, "bytes per layer must be positive")
ErrInvalidTokenizerHash = register(CODESPACE, 8, "tokenizer hash must be 32 bytes")
ErrInvalidDtype = register(CODESPACE, 9, "dtype must be float32, float16 or bfloat16")
ErrInvalidPrice = register(CODESPACE, 10, "price per token must be a decimal string")
ErrInvalidRedundancy = register(CODESPACE, 11, "invalid minimum redundancy")
ErrInvalidZkKeyRef = register(
    CODESPACE, 12, "zk verifying key reference is too long or unprintable"
)
ErrModelExists = register(CODESPACE, 13, "model id already registered")
ErrModelNotFound = register(CODESPACE, 14, "model not found")
ErrNotModelOwner = register(CODESPACE, 15, "signer is not the model owner")
ErrModelRetired = register(CODESPACE, 16, "model is retired")
ErrNothingToUpdate = register(CODESPACE, 17, "update changes nothing")
ErrInvalidTolerance = register(
    CODESPACE,
    18,
    "verifier tolerance must name a precision class once, 1 <= noise <= fingerprint <= 10^6",
)
