"""inference errors (codespace "inference"); codes are stable."""

from chain.errors import register

CODESPACE = "inference"
ErrJobNotFound = register(CODESPACE, 2, "job not found")
ErrUnknownModel = register(CODESPACE, 3, "unknown model")
ErrModelRetired = register(CODESPACE, 4, "model is retired")
ErrEmptyPrompt = register(CODESPACE, 5, "prompt is empty")
ErrPromptTooLarge = register(CODESPACE, 6, "prompt exceeds the size limit")
ErrInvalidMaxNewTokens = register(CODESPACE, 7, "max new tokens out of range")
ErrInvalidDecoding = register(CODESPACE, 8, "invalid decoding parameters")
ErrRedundancyTooLow = register(CODESPACE, 9, "redundancy below the model's minimum")
ErrRedundancyTooHigh = register(CODESPACE, 10, "redundancy above the limit")
ErrInvalidDeadline = register(CODESPACE, 11, "deadline out of range")
ErrWrongFeeDenom = register(CODESPACE, 12, "max fee is not in the fee denom")
ErrFeeBelowPrice = register(CODESPACE, 13, "fee below price")
ErrNotSubmitter = register(CODESPACE, 14, "signer is not the job's submitter")
ErrJobNotCancellable = register(CODESPACE, 15, "job can no longer be cancelled")
ErrSealedJobsDisabled = register(CODESPACE, 16, "sealed jobs are disabled")
ErrInvalidSealedJob = register(CODESPACE, 17, "invalid sealed job request")
ErrNotSealable = register(CODESPACE, 18, "job cannot be sealed now")
ErrInvalidSeals = register(CODESPACE, 19, "boxes do not fit the job's routes")
ErrInvalidDisclosure = register(CODESPACE, 20, "disclosure does not match the job's commitments")
ErrNotDisclosable = register(CODESPACE, 21, "job cannot be disclosed")
