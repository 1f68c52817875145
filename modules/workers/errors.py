"""workers errors (codespace "workers"); codes are stable."""

from chain.errors import register

CODESPACE = "workers"
ErrWorkerExists = register(CODESPACE, 2, "worker already registered for this operator")
ErrWorkerNotFound = register(CODESPACE, 3, "worker not found")
ErrInvalidEndpoint = register(CODESPACE, 4, "endpoint must be host:port")
ErrInvalidHardware = register(CODESPACE, 5, "invalid hardware declaration")
ErrInvalidRuntime = register(CODESPACE, 6, "invalid runtime fingerprint")
ErrInvalidEncryptionKey = register(CODESPACE, 7, "encryption public key must be 32 bytes")
ErrWrongStakeDenom = register(CODESPACE, 8, "stake is not in the bond denom")
ErrStakeTooLow = register(CODESPACE, 9, "stake below the minimum")
ErrWorkerUnbonding = register(CODESPACE, 10, "worker is unbonding")
ErrUnknownModel = register(CODESPACE, 11, "model not found")
ErrModelRetired = register(CODESPACE, 12, "model is retired")
ErrInvalidSpan = register(CODESPACE, 13, "span must satisfy start < end <= num_layers")
ErrSpanOverlap = register(CODESPACE, 14, "span overlaps a span the worker already serves")
ErrInsufficientMemory = register(CODESPACE, 15, "served spans exceed the declared memory")
ErrTooManySpans = register(CODESPACE, 16, "worker serves the maximum number of spans")
ErrSpanNotFound = register(CODESPACE, 17, "worker does not serve this span")
ErrNothingToUpdate = register(CODESPACE, 18, "update changes nothing")
ErrModelFull = register(
    CODESPACE, 19, "the model has the most spans it may have and none is weaker than this worker"
)
