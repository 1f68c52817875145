"""An OpenAI-compatible gateway: chat completions that are Infera jobs (docs/gateway.md)."""
