"""zk errors (codespace "zk"); codes are stable."""

from chain.errors import register

CODESPACE = "zk"
ErrBadLength = register(CODESPACE, 2, "encoding has the wrong length or is oversize")
ErrNonCanonical = register(CODESPACE, 3, "field element or scalar is not canonical (>= modulus)")
ErrNotOnCurve = register(CODESPACE, 4, "point is not on the curve")
ErrNotInSubgroup = register(CODESPACE, 5, "G2 point is not in the prime-order subgroup")
ErrPublicInputCount = register(CODESPACE, 6, "public input count differs from the verifying key")
ErrInvalidProof = register(CODESPACE, 7, "proof does not verify")
