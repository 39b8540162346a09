"""Settings: one typed object, read from the environment and `.env`, built once at start."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/codesign.db"
SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")


class SettingsError(Exception):
    """A missing or invalid setting, described in one line naming the variable."""


class Settings(BaseSettings):
    """Everything codesign-bot reads from its environment. See `.env.example`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    bot_token: SecretStr | None = Field(
        default=None, description="Telegram bot token from @BotFather; not needed for chat mode"
    )
    bot_api_base_url: str | None = Field(
        default=None, description="Base URL of a self-hosted Bot API server (or a test server)"
    )
    default_language: Literal["en", "cy"] = Field(
        default="en", description="Language used before the person chooses one"
    )
    data_dir: Path = Field(
        default=Path("var"), description="Folder for the embedded database and saved files"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Application log level"
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "is not a database URL; use sqlite+aiosqlite:///path or postgresql+asyncpg://..."
            ) from None
        if url.drivername not in SUPPORTED_DRIVERS:
            raise ValueError(
                f"uses the unsupported driver {url.drivername!r}; "
                f"use one of {', '.join(SUPPORTED_DRIVERS)}"
            )
        return value

    @field_validator("bot_token")
    @classmethod
    def _real_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value().strip()
        if not token or token.startswith("<") or token.lower().startswith("changeme"):
            raise ValueError("is still the placeholder from .env.example; set the real token")
        left, sep, right = token.partition(":")
        if not (sep and left.isdigit() and right):
            raise ValueError("does not look like a Telegram token (digits, a colon, then letters)")
        return SecretStr(token)

    @property
    def database(self) -> URL:
        return make_url(self.database_url)


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning a validation failure into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{field.upper()}: {message[:1].lower()}{message[1:]}") from None
