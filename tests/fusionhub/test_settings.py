"""Production settings: FusionHub refuses to start without a secret key, and passes Django's deploy checks."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process with DEBUG off and the given environment on top."""
    environment = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "SECRET_KEY"}}
    environment.update({"DEBUG": "false", **env})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def local_env_file_sets(name: str) -> bool:
    env_file = BASE_DIR / ".env"
    return env_file.exists() and any(line.strip().startswith(f"{name}=") for line in env_file.read_text().splitlines())


@pytest.mark.parametrize("secret_key", [None, ""], ids=["unset", "empty"])
def test_refuses_to_start_with_debug_off_and_no_secret_key(secret_key):
    if secret_key is None and local_env_file_sets("SECRET_KEY"):
        pytest.skip("this checkout's .env sets SECRET_KEY")
    env = {} if secret_key is None else {"SECRET_KEY": secret_key}

    result = manage("check", **env)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_production_settings_pass_the_deploy_checks():
    result = manage(
        "check",
        "--deploy",
        "--fail-level=WARNING",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="fusionhub.example.gov",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_debug_off_turns_on_the_transport_protections():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS)",
        SECRET_KEY=secrets.token_urlsafe(50),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "31536000", "True"]


def test_debug_off_keeps_cookies_and_pages_locked_down():
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE, s.CSRF_COOKIE_HTTPONLY, s.X_FRAME_OPTIONS, "
        "s.SECURE_REFERRER_POLICY, s.SECURE_HSTS_PRELOAD, "
        "s.CONTENT_SECURITY_POLICY['DIRECTIVES']['script-src'] == [\"'self'\"])",
        SECRET_KEY=secrets.token_urlsafe(50),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "Lax", "True", "DENY", "same-origin", "True", "True"]
