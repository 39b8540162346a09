"""Settings: defaults, .env, and one readable line for every bad value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import DEFAULT_DATABASE_URL, Settings, SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_need_nothing_set(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.bot_token is None


def test_dotenv_file_is_read(clean_env: Path) -> None:
    (clean_env / ".env").write_text("DATABASE_URL=postgresql+asyncpg://u@db/codesign\n")
    assert load_settings().database.drivername == "postgresql+asyncpg"


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("DATABASE_URL", "nonsense://x", "unsupported driver 'nonsense'"),
        ("DATABASE_URL", "not a url at all", "not a database URL"),
        ("BOT_TOKEN", "<your-token-from-botfather>", "placeholder"),
        ("BOT_TOKEN", "abc", "does not look like a Telegram token"),
        ("DEFAULT_LANGUAGE", "fr", "'en' or 'cy'"),
        ("LOG_LEVEL", "LOUD", "'DEBUG'"),
        ("DATABASE_POOL_SIZE", "2", "greater than or equal to 3"),
        ("DATABASE_POOL_SIZE", "many", "valid integer"),
    ],
)
def test_bad_values_give_one_line_naming_the_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}:")
    assert fragment in message
    assert "\n" not in message


def test_token_is_secret(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123456:ABCdef")
    settings = load_settings()
    assert "ABCdef" not in repr(settings)
    assert settings.bot_token is not None
    assert settings.bot_token.get_secret_value() == "123456:ABCdef"


def test_env_example_documents_every_setting_with_a_comment() -> None:
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", example, flags=re.M))
    assert documented == {name.upper() for name in Settings.model_fields}
    lines = example.splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^#?\s*[A-Z_]+=", line):
            above = lines[number - 1]
            assert above.startswith("# ") and "=" not in above, f"no comment above {line!r}"


def test_env_example_itself_is_valid_settings(clean_env: Path) -> None:
    (clean_env / ".env").write_text((ROOT / ".env.example").read_text())
    load_settings()
