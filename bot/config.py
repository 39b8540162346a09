"""Settings: one typed object, read from the environment and `.env`, built once at start."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.storage.engine import POSTGRES_POOL_SIZE

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/codesign.db"
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
REDIS_SCHEMES = ("redis", "rediss", "unix")
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
    database_pool_size: int = Field(
        default=POSTGRES_POOL_SIZE,
        ge=3,
        le=500,
        description="PostgreSQL: connections kept open; updates use all but two at once",
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

    webhook_url: str | None = Field(
        default=None,
        description="Public https URL Telegram calls (the path is added); set: webhook mode",
    )
    webhook_path: str = Field(
        default="/telegram/webhook", description="Path of the webhook on this server"
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Webhook secret (1-256 of A-Z a-z 0-9 _ -); required in webhook mode",
    )
    web_host: str = Field(default="127.0.0.1", description="Address the web server listens on")
    web_port: int = Field(
        default=8080, ge=0, le=65535, description="Port of the web server (0: any free port)"
    )
    redis_url: str | None = Field(
        default=None, description="Redis for the per-chat lock across processes (optional)"
    )
    shutdown_grace_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="How long updates in flight may run on after SIGTERM or SIGINT",
    )
    drawing_processes: int = Field(
        default=1,
        ge=0,
        le=8,
        description="Processes drawing charts and PDFs (0: a thread of the bot's own process)",
    )
    bot_username: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z][A-Za-z0-9_]{3,31}$",
        description="The bot's @username, for t.me deep links in printed link codes",
    )
    link_code_days: int = Field(
        default=14, ge=1, le=365, description="How many days link and invite codes work"
    )
    retention_days: int = Field(
        default=730,
        ge=30,
        le=3650,
        description="Conversation text older than this is erased by `codesign retention run`",
    )

    session_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=720,
        description="Staff dashboard: a session ends after this many minutes without a request",
    )
    session_max_hours: int = Field(
        default=8, ge=1, le=72, description="Staff dashboard: a session ends this long after login"
    )
    cookie_secure: bool | None = Field(
        default=None,
        description="Staff dashboard: Secure cookies (HTTPS only); unset: on with WEBHOOK_URL",
    )

    @field_validator("webhook_url", "bot_api_base_url", "redis_url", "cookie_secure", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_url")
    @classmethod
    def _public_https(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError("must be a public https:// URL, such as https://bot.example.org")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or a fragment")
        return value.strip().rstrip("/")

    @field_validator("webhook_path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in " ?#"):
            raise ValueError("must start with / and have no spaces, ? or #")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not WEBHOOK_SECRET_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("bot_api_base_url")
    @classmethod
    def _http_base(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL, such as http://127.0.0.1:8081")
        return value.strip().rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if urlsplit(value.strip()).scheme not in REDIS_SCHEMES:
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value.strip()

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

    @property
    def dashboard_cookie_secure(self) -> bool:
        """Secure cookies when asked, or by default when the server is reached over https."""
        return self.cookie_secure if self.cookie_secure is not None else self.webhook_mode

    @property
    def webhook_mode(self) -> bool:
        """A WEBHOOK_URL selects webhook mode; without one the bot uses long polling."""
        return self.webhook_url is not None


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning a validation failure into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{field.upper()}: {message[:1].lower()}{message[1:]}") from None
