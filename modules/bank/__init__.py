"""bank: balances, transfers (MsgSend) and total supply."""
