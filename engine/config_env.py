"""The settings that come from the environment (.env): secrets, and the owner's chat id."""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import ConfigError
from engine.settings import Secrets


def from_env(env: Mapping[str, str]) -> tuple[Secrets, int | None]:
    """The secrets (.env or the process environment) and the owner's chat id."""

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    chat = get("TELEGRAM_CHAT_ID")
    chat_id: int | None = None
    if chat is not None:
        try:
            chat_id = int(chat)
        except ValueError:
            raise ConfigError(
                "TELEGRAM_CHAT_ID: expected a numeric chat id such as 123456789"
            ) from None
    secrets = Secrets(
        telegram_token=get("TELEGRAM_TOKEN"),
        telegram_api_url=get("TELEGRAM_API_URL"),
        exchange_api_key=get("EXCHANGE_API_KEY"),
        exchange_api_secret=get("EXCHANGE_API_SECRET"),
        exchange_password=get("EXCHANGE_PASSWORD"),
        database_url=get("DATABASE_URL"),
    )
    if secrets.telegram_api_url and not secrets.telegram_api_url.startswith(("http://", "https://")):
        raise ConfigError("TELEGRAM_API_URL: expected a base URL such as http://127.0.0.1:8081/bot")
    return secrets, chat_id
