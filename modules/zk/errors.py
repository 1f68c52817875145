"""zk errors (codespace "zk"); codes are stable."""

from chain.errors import register

CODESPACE = "zk"
ErrBadLength = register(CODESPACE, 2, "encoding has the wrong length or is oversize")
ErrNonCanonical = register(CODESPACE, 3, "field element or scalar is not canonical (>= modulus)")
ErrNotOnCurve = register(CODESPACE, 4, "point is not on the curve")
ErrNotInSubgroup = register(CODESPACE, 5, "G2 point is not in the prime-order subgroup")
ErrPublicInputCount = register(CODESPACE, 6, "public input count differs from the verifying key")
ErrInvalidProof = register(CODESPACE, 7, "proof does not verify")
ErrInvalidKeyId = register(CODESPACE, 8, "key id must match [a-z0-9._-]{1,64}")
ErrKeyExists = register(CODESPACE, 9, "key id already registered")
ErrModelHasKey = register(CODESPACE, 10, "model already has a verifying key")
ErrModelNotFound = register(CODESPACE, 11, "model not found")
ErrNotModelOwner = register(CODESPACE, 12, "signer is not the model owner")
ErrDevKeyRefused = register(CODESPACE, 13, "this chain refuses development-setup keys")
ErrJobNotFound = register(CODESPACE, 14, "job not found")
ErrNoKeyForModel = register(CODESPACE, 15, "the job's model has no verifying key")
ErrJobNotOpen = register(CODESPACE, 16, "job is not waiting for a result")
ErrNotJobWorker = register(CODESPACE, 17, "prover is not a worker on the job's routes")
ErrProofPending = register(CODESPACE, 18, "the job already has a pending or verified proof")
ErrBlockProofCap = register(CODESPACE, 19, "this block already holds max_proofs_per_block proofs")
ErrKeyNotFound = register(CODESPACE, 20, "verifying key not found")
ErrProofNotFound = register(CODESPACE, 21, "no proof submitted for this job")
ErrSettlementFailed = register(
    CODESPACE, 22, "verifying or settling the proof failed unexpectedly (fault barrier)"
)
ErrInputMismatch = register(
    CODESPACE, 23, "the proof's last public input is not the input commitment the job declares"
)
ErrInvalidWeights = register(
    CODESPACE,
    24,
    "bad weights declaration: a PRIVATE key needs a 32-byte commitment < r and >= 2 public "
    "inputs, a BAKED key none",
)
ErrWeightsMismatch = register(
    CODESPACE,
    25,
    "the proof's weights commitment (public input num_public - 2) is not the key's registered one",
)
