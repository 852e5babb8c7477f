"""The engine: tokenization, pair building, batching and inference (no transport code)."""
