"""tee errors (codespace "tee"); codes are stable.

Codes 3..9 are the verifier failures (``verdict.Failure`` 1..7 plus 2); the rest are the chain's
policy. A replay (another worker's or another chain's report) fails as ErrWrongReportData.
"""

from chain.errors import register

CODESPACE = "tee"
ErrTooLarge = register(CODESPACE, 2, "report, collateral or certificate chain over its size limit")
ErrMalformed = register(CODESPACE, 3, "not a report of this TEE type (length, layout, encoding)")
ErrBadSignature = register(CODESPACE, 4, "the report's signature does not verify")
ErrBadChain = register(CODESPACE, 5, "a certificate or collateral signature does not verify")
ErrWrongRoot = register(CODESPACE, 6, "the chain does not end in the pinned vendor root")
ErrCollateralExpired = register(CODESPACE, 7, "collateral or a certificate expired at block time")
ErrNotYetValid = register(
    CODESPACE, 8, "collateral or a certificate is not valid yet at block time"
)
ErrTcbUnknown = register(CODESPACE, 9, "the vendor TCB info has no level for this platform")
ErrTypeNotAllowed = register(CODESPACE, 10, "this TEE type is not allowed on this chain")
ErrTcbNotAllowed = register(
    CODESPACE, 11, "TCB status, advisory or SNP TCB version refused by params"
)
ErrDebugGuest = register(CODESPACE, 12, "the TEE runs with debugging enabled")
ErrMeasurementNotAllowed = register(
    CODESPACE, 13, "measurement is in neither the network's nor any model's allowlist"
)
ErrWrongReportData = register(
    CODESPACE,
    14,
    "report_data is not sha256 of (chain id, epoch, worker encryption key, operator)",
)
ErrBadEpoch = register(CODESPACE, 15, "epoch is in the future or its attestation already expired")
ErrWorkerNotFound = register(CODESPACE, 16, "operator has no registered worker")
ErrModelNotFound = register(CODESPACE, 17, "model not found")
ErrNotModelOwner = register(CODESPACE, 18, "signer is not the model owner")
ErrInvalidRequirement = register(
    CODESPACE, 19, "bad requirement: types and measurements must be sorted, distinct and allowed"
)
ErrAttestationNotFound = register(CODESPACE, 20, "no attestation for this operator")
ErrRequirementNotFound = register(CODESPACE, 21, "model has no TEE requirement")
ErrVerifierFault = register(CODESPACE, 22, "the verifier failed unexpectedly (fault barrier)")
ErrPublicJobRefused = register(
    CODESPACE, 23, "a model with a TEE requirement takes only sealed jobs (privacy SEALED)"
)
ErrSealKeyMismatch = register(
    CODESPACE, 24, "a hop's registered encryption key is not the key its attestation binds"
)
ErrSealHopNotAttested = register(
    CODESPACE, 25, "a hop has no attestation valid for the model's requirement at the seal"
)
