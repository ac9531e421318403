"""tradepilot's engine: everything but the chat. Never imports telegram."""

__version__ = "0.1.0"
