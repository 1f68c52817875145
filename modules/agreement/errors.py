"""agreement errors (codespace "agreement"); codes are stable."""

from chain.errors import register

CODESPACE = "agreement"
ErrJobNotFound = register(CODESPACE, 2, "job not found")
ErrInvalidCommitment = register(CODESPACE, 3, "commitment must be 32 bytes")
ErrNotAssignedWorker = register(CODESPACE, 4, "worker is not on any route of the job")
ErrCommitWindowClosed = register(CODESPACE, 5, "commit window closed")
ErrAlreadyCommitted = register(CODESPACE, 6, "hop already committed")
ErrRevealWindowNotOpen = register(CODESPACE, 7, "reveal window not open yet")
ErrRevealWindowClosed = register(CODESPACE, 8, "reveal window closed")
ErrNoCommitment = register(CODESPACE, 9, "reveal without commitment")
ErrAlreadyRevealed = register(CODESPACE, 10, "hop already revealed")
ErrCommitmentMismatch = register(CODESPACE, 11, "reveal does not match the commitment")
ErrInvalidOutput = register(CODESPACE, 12, "invalid output")
ErrInvalidFingerprint = register(CODESPACE, 13, "shard fingerprint must be 32 bytes")
ErrInvalidSalt = register(CODESPACE, 14, "salt must be 32 bytes")
ErrJobNotAssigned = register(CODESPACE, 15, "job has no routes yet")
ErrNotDisputed = register(CODESPACE, 16, "job has no open dispute")
ErrInvalidResolution = register(CODESPACE, 17, "output was not claimed by a complete route")
ErrNotContestable = register(CODESPACE, 18, "seal cannot be contested")
ErrSealContested = register(CODESPACE, 19, "hop contested its seal")
