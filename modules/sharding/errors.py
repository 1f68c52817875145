"""sharding errors (codespace "sharding"); codes are stable."""

from chain.errors import register

CODESPACE = "sharding"
ErrUnknownModel = register(CODESPACE, 2, "model not found")
ErrModelRetired = register(CODESPACE, 3, "model is retired")
ErrInvalidRedundancy = register(CODESPACE, 4, "invalid redundancy")
ErrInsufficientCoverage = register(
    CODESPACE, 5, "not enough active workers to build disjoint routes over every layer"
)
ErrInsufficientMemory = register(CODESPACE, 6, "memory does not fit a single layer")
ErrTooManyCandidates = register(
    CODESPACE, 7, "the model has more announced spans than one route selection may examine"
)
ErrInvalidPrecision = register(CODESPACE, 8, "precision class not allowed by the model")
ErrTxSearchBudgetExceeded = register(
    CODESPACE, 9, "route selections of one tx exceed the per-tx search budget"
)
