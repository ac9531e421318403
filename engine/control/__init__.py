"""The command API behind the chat: methods that return plain values (views)."""
