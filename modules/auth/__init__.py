"""auth: accounts, account numbers, sequences and public keys; the ante handler's params."""
