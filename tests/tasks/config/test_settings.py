from __future__ import annotations

import pytest

from tasks.config.settings import Settings, SettingsError


def test_defaults_are_usable():
    s = Settings.from_env({})
    assert s.redis_url_for("broker").endswith("/0") and s.redis_url_for("limits").endswith("/4")
    assert s.storage_url.startswith("file:///") and s.storage_url.endswith("/var/audio")
    assert s.rate_limit_session == "5/minute"


def test_one_redis_url_split_per_concern():
    s = Settings.from_env({"REDIS_URL": "redis://cache.internal:6380/6"})
    assert [s.redis_url_for(c) for c in ("broker", "results", "jobs", "sessions", "limits")] == [
        f"redis://cache.internal:6380/{n}" for n in range(6, 11)
    ]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REDIS_URL": "http://x"}, "REDIS_URL"),
        ({"REDIS_URL": "redis://h:6379/14"}, "REDIS_URL"),
        ({"STORAGE_URL": "ftp://x"}, "STORAGE_URL"),
        ({"RETENTION_HOURS": "soon"}, "RETENTION_HOURS"),
        ({"RETENTION_HOURS": "0"}, "RETENTION_HOURS"),
        ({"LOCAL_MODE": "maybe"}, "LOCAL_MODE"),
        ({"LOCAL_MODE": "0"}, "SECRET_KEY"),
        ({"SESSION_COOKIE_SAMESITE": "Sometimes"}, "SESSION_COOKIE_SAMESITE"),
        ({"SESSION_COOKIE_SAMESITE": "None"}, "SESSION_COOKIE_SECURE"),
        ({"RATE_LIMIT_SESSION": "five"}, "RATE_LIMIT_SESSION"),
        ({"ESTIMATE_SECONDS_PER_AUDIO_SECOND": "-1"}, "ESTIMATE_SECONDS_PER_AUDIO_SECOND"),
    ],
)
def test_bad_values_fail_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_cookie_secure_follows_local_mode_unless_set():
    assert Settings.from_env({}).cookie_secure is False
    assert Settings.from_env({"LOCAL_MODE": "0", "SECRET_KEY": "k"}).cookie_secure is True
    assert Settings.from_env({"SESSION_COOKIE_SECURE": "1"}).cookie_secure is True


def test_time_limits_scale_with_duration():
    s = Settings.from_env({})
    soft30, hard30 = s.time_limits(30)
    soft120, hard120 = s.time_limits(120)
    assert soft30 < soft120 and hard30 > soft30 and hard120 > soft120


def test_the_app_refuses_to_start_with_a_bad_variable(monkeypatch):
    from web import create_app

    monkeypatch.setenv("STORAGE_URL", "gopher://x")
    with pytest.raises(SettingsError, match="STORAGE_URL"):
        create_app()


SENTINEL_ENV = {"REDIS_SENTINELS": "10.0.0.5:26379, 10.0.0.6:26380,[fd00::7]:26381",
                "REDIS_SENTINEL_MASTER": "music", "REDIS_URL": "redis://:s3cret@unused:6379/6"}


def test_sentinel_settings_keep_the_db_numbers_per_concern():
    s = Settings.from_env({**SENTINEL_ENV, "REDIS_SENTINEL_PASSWORD": "sentinel pw"})
    assert s.uses_sentinel
    assert s.redis_sentinels == (("10.0.0.5", 26379), ("10.0.0.6", 26380), ("fd00::7", 26381))
    assert [s.redis_db_for(c) for c in ("broker", "results", "jobs", "sessions", "limits")] == [
        6, 7, 8, 9, 10]
    # Celery: one sentinel:// URL per sentinel, the data nodes' password and DB on each.
    assert s.celery_url_for("broker") == (
        "sentinel://:s3cret@10.0.0.5:26379/6;sentinel://:s3cret@10.0.0.6:26380/6;"
        "sentinel://:s3cret@[fd00::7]:26381/6")
    assert s.celery_url_for("results").endswith("/7")
    assert s.limits_storage_uri() == (
        "redis+sentinel://10.0.0.5:26379,10.0.0.6:26380,[fd00::7]:26381/music")
    assert s.redis_password() == "s3cret"
    assert s.sentinel_kwargs()["password"] == "sentinel pw"


def test_without_sentinels_nothing_changes():
    s = Settings.from_env({"REDIS_URL": "redis://cache.internal:6380/6"})
    assert not s.uses_sentinel
    assert s.celery_url_for("broker") == "redis://cache.internal:6380/6"
    assert s.limits_storage_uri() == "redis://cache.internal:6380/10"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "10.0.0.5"}, "REDIS_SENTINELS"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "10.0.0.5:0"}, "REDIS_SENTINELS"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "10.0.0.5:99999"}, "REDIS_SENTINELS"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": "a b:26379"}, "REDIS_SENTINELS"),
        ({**SENTINEL_ENV, "REDIS_SENTINELS": " , "}, "REDIS_SENTINELS"),
        ({**SENTINEL_ENV, "REDIS_SENTINEL_MASTER": ""}, "REDIS_SENTINEL_MASTER"),
        ({**SENTINEL_ENV, "REDIS_SENTINEL_MASTER": "my master"}, "REDIS_SENTINEL_MASTER"),
        ({"REDIS_SENTINEL_MASTER": "music"}, "REDIS_SENTINELS"),
        ({"REDIS_SENTINEL_PASSWORD": "pw"}, "REDIS_SENTINELS"),
    ],
)
def test_bad_sentinel_settings_name_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)
