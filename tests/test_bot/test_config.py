"""Settings from the environment: every variable read, every bad value named."""

from __future__ import annotations

from pathlib import Path

import pytest

from wxloan.bot.config import DEFAULT_API_BASE, ENV_VARS, Settings
from wxloan.bot.errors import ConfigError
from tests.wechat import AES_KEY, OLD_AES_KEY

FULL_ENV = {
    "WECHAT_TOKEN": " tok-123 ",
    "WECHAT_APP_ID": "wx0123",
    "WECHAT_APP_SECRET": "secret-456",
    "WECHAT_ENCODING_AES_KEY": AES_KEY,
    "WECHAT_ENCODING_AES_KEY_PREVIOUS": OLD_AES_KEY,
    "WECHAT_API_BASE": "https://api.example.test/",
    "WXLOAN_DB": "/var/lib/wxloan/bot.db",
    "WXLOAN_DB_POOL": "25",
    "WXLOAN_REPLY_DEADLINE": "3.5",
    "WXLOAN_REPLAY_WINDOW": "120",
    "WXLOAN_SESSION_TTL": "900",
    "WXLOAN_MAX_BODY": "32768",
    "WXLOAN_LOG_LEVEL": "debug",
    "WXA_TOKEN": "wxa-tok",
    "WXA_APP_ID": "wxa0123",
    "WXA_APP_SECRET": "wxa-secret",
    "WXA_ENCODING_AES_KEY": OLD_AES_KEY,
    "WXLOAN_METRICS_PORT": "9108",
    "WXLOAN_METRICS_HOST": "0.0.0.0",
    "WXLOAN_KNOWLEDGE_DIR": "/etc/wxloan/knowledge",
    "WXLOAN_DASHBOARD_TOKEN": "dash-token-0123456789",
}


def test_every_variable_is_read():
    assert set(FULL_ENV) == set(ENV_VARS)  # this test covers every documented variable
    settings = Settings.from_env(FULL_ENV)
    assert settings.token == "tok-123"
    assert settings.token_generated is False
    assert settings.app_id == "wx0123"
    assert settings.app_secret == "secret-456"
    assert settings.aes_key == AES_KEY
    assert settings.aes_key_previous == OLD_AES_KEY
    assert settings.api_base == "https://api.example.test"
    assert settings.db_path == Path("/var/lib/wxloan/bot.db")
    assert settings.database is None and settings.db_target == settings.db_path
    assert settings.db_pool_size == 25
    assert settings.reply_deadline == 3.5
    assert settings.replay_window == 120.0
    assert settings.session_ttl == 900.0
    assert settings.max_body_bytes == 32768
    assert settings.log_level == "DEBUG"
    assert settings.safe_mode_enabled
    assert settings.wxa_token == "wxa-tok" and settings.miniprogram_enabled
    assert settings.wxa_app_id == "wxa0123" and settings.wxa_app_secret == "wxa-secret"
    assert settings.wxa_aes_key == OLD_AES_KEY
    assert settings.metrics_port == 9108 and settings.metrics_host == "0.0.0.0"
    assert settings.knowledge_dir == Path("/etc/wxloan/knowledge")
    assert settings.dashboard_token == "dash-token-0123456789"
    assert "dash-token" not in repr(settings)  # a secret: never in a repr or a log


def test_defaults_with_only_a_token():
    settings = Settings.from_env({"WECHAT_TOKEN": "tok"})
    assert settings.metrics_port is None and settings.metrics_host == "127.0.0.1"
    assert settings.knowledge_dir is None
    assert settings.app_id == "" and settings.aes_key == "" and not settings.safe_mode_enabled
    assert settings.api_base == DEFAULT_API_BASE
    assert settings.db_path == Path("wxloan.db")
    assert settings.reply_deadline == 4.5
    assert settings.replay_window == 300.0
    assert settings.session_ttl == 1800.0
    assert settings.max_body_bytes == 65536
    assert settings.log_level == "INFO"
    assert settings.host == "127.0.0.1"


def test_secrets_are_not_in_repr():
    text = repr(Settings.from_env(FULL_ENV))
    assert "secret-456" not in text
    assert AES_KEY not in text and OLD_AES_KEY not in text


@pytest.mark.parametrize("env", [{}, {"WECHAT_TOKEN": ""}, {"WECHAT_TOKEN": "   "}])
def test_missing_token_is_generated_random_and_non_empty(env):
    tokens = {Settings.from_env(env).token for _ in range(5)}
    assert len(tokens) == 5
    assert all(token.strip() and len(token) >= 16 for token in tokens)
    assert Settings.from_env(env).token_generated is True


BAD_VALUES = [
    ("WECHAT_ENCODING_AES_KEY", "short"),
    ("WECHAT_ENCODING_AES_KEY", AES_KEY[:-1] + "!"),
    ("WECHAT_ENCODING_AES_KEY_PREVIOUS", "short"),
    ("WXLOAN_REPLY_DEADLINE", "abc"),
    ("WXLOAN_REPLY_DEADLINE", "0"),
    ("WXLOAN_REPLY_DEADLINE", "10"),
    ("WXLOAN_REPLY_DEADLINE", "nan"),
    ("WXLOAN_REPLAY_WINDOW", "abc"),
    ("WXLOAN_REPLAY_WINDOW", "0"),
    ("WXLOAN_REPLAY_WINDOW", "-5"),
    ("WXLOAN_REPLAY_WINDOW", "nan"),
    ("WXLOAN_SESSION_TTL", "abc"),
    ("WXLOAN_SESSION_TTL", "-1"),
    ("WXLOAN_SESSION_TTL", "nan"),
    ("WXLOAN_MAX_BODY", "64k"),
    ("WXLOAN_MAX_BODY", "1.5"),
    ("WXLOAN_MAX_BODY", "10"),
    ("WXLOAN_MAX_BODY", str(64 * 1024 * 1024)),
    ("WXLOAN_METRICS_PORT", "70000"),
    ("WXLOAN_METRICS_PORT", "nine"),
    ("WXLOAN_LOG_LEVEL", "verbose"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_invalid_value_raises_config_error_naming_the_variable(name, value):
    env = {
        "WECHAT_TOKEN": "tok",
        "WECHAT_APP_ID": "wx1",
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        name: value,
    }
    with pytest.raises(ConfigError) as excinfo:
        Settings.from_env(env)
    assert name in str(excinfo.value)


def test_aes_key_without_app_id_names_the_app_id():
    with pytest.raises(ConfigError, match="WECHAT_APP_ID"):
        Settings.from_env({"WECHAT_TOKEN": "t", "WECHAT_ENCODING_AES_KEY": AES_KEY})


def test_previous_key_without_current_key_is_refused():
    with pytest.raises(ConfigError, match="WECHAT_ENCODING_AES_KEY_PREVIOUS"):
        Settings.from_env(
            {
                "WECHAT_TOKEN": "t",
                "WECHAT_APP_ID": "wx1",
                "WECHAT_ENCODING_AES_KEY_PREVIOUS": OLD_AES_KEY,
            }
        )


def test_overrides_are_validated():
    settings = Settings.from_env({"WECHAT_TOKEN": "t"})
    assert settings.with_overrides(port=9000, host=None).port == 9000
    assert settings.with_overrides(host=None).host == "127.0.0.1"  # None means "not given"
    with pytest.raises(ConfigError, match="--port"):
        settings.with_overrides(port=70000)
    with pytest.raises(ConfigError, match="WXLOAN_REPLY_DEADLINE"):
        settings.with_overrides(reply_deadline=9.0)


def test_from_env_reads_os_environ_by_default(monkeypatch):
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WECHAT_TOKEN", "from-os")
    monkeypatch.setenv("WXLOAN_SESSION_TTL", "42")
    settings = Settings.from_env()
    assert settings.token == "from-os"
    assert settings.session_ttl == 42.0


def test_miniprogram_needs_app_id_and_secret():
    with pytest.raises(ConfigError, match="WXA_APP_ID and WXA_APP_SECRET"):
        Settings.from_env({"WECHAT_TOKEN": "t", "WXA_TOKEN": "w"})


@pytest.mark.parametrize(("value", "expected"), [
    ("postgresql://bot:pw@db.internal:5433/wxloan", "postgresql://bot:***@db.internal:5433/wxloan"),
    ("postgres://bot@db/wxloan?sslmode=require&password=pw",
     "postgres://bot@db/wxloan?sslmode=require&password=***"),
    ("postgresql:///wxloan", "postgresql:///wxloan"),  # libpq's PG* variables fill in the rest
])
def test_a_postgresql_url_selects_postgresql_and_never_shows_its_password(value, expected):
    settings = Settings.from_env({"WECHAT_TOKEN": "t", "WXLOAN_DB": value})
    assert settings.database is not None and settings.db_target is settings.database
    assert settings.database.url == value and settings.database.redacted() == expected
    assert "pw" not in repr(settings) and "pw" not in repr(settings.database)


@pytest.mark.parametrize(("value", "path"), [
    ("sqlite:///var/lib/wxloan.db", "/var/lib/wxloan.db"), ("sqlite:bot.db", "bot.db"),
    ("bot.db", "bot.db"),
])
def test_a_path_or_sqlite_url_keeps_sqlite(value, path):
    settings = Settings.from_env({"WECHAT_TOKEN": "t", "WXLOAN_DB": value})
    assert settings.database is None and settings.db_target == Path(path)


@pytest.mark.parametrize("value", ["0", "1001", "many"])
def test_a_bad_pool_size_names_the_variable(value):
    with pytest.raises(ConfigError, match="WXLOAN_DB_POOL"):
        Settings.from_env({"WECHAT_TOKEN": "t", "WXLOAN_DB_POOL": value})
