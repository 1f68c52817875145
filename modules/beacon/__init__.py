"""beacon: randomness no single party can choose (validators' unique BLS signatures, aggregated)."""
