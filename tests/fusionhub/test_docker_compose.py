"""docker-compose.yml, the Dockerfile and .env.example agree with each other and with fusionhub/settings.py."""

import re
import shlex
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.conf import settings

BASE_DIR = Path(__file__).resolve().parent.parent.parent
APP_SERVICES = ("web", "worker", "beat")
# env("NAME"), env.str("NAME", ...), env.db_url("NAME", ...): every variable settings.py reads.
ENV_CALL = re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")


def settings_variables() -> set[str]:
    return set(ENV_CALL.findall((BASE_DIR / "fusionhub" / "settings.py").read_text()))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def environment_of(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return {name: str(value) for name, value in environment.items()}


def command_of(service: dict) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def option(command: list[str], *names: str) -> str | None:
    """The value of `--name=value`, `--name value` or `-n value` in a command line."""
    for index, part in enumerate(command):
        for name in names:
            if part.startswith(f"{name}="):
                return part.split("=", 1)[1]
            if part == name and index + 1 < len(command):
                return command[index + 1]
    return None


def test_settings_source_reads_the_variables_we_expect():
    # Guards the pattern the other tests rely on: if it stopped matching, they would pass vacuously.
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"} <= settings_variables()


def test_the_stack_has_web_worker_beat_postgres_and_redis(services):
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)


def test_postgres_is_15_and_redis_is_7(services):
    assert re.fullmatch(r"postgres:15([.-].*)?", services["postgres"]["image"])
    assert re.fullmatch(r"redis:7([.-].*)?", services["redis"]["image"])


@pytest.mark.parametrize("name", ["postgres", "redis"])
def test_data_stores_have_healthchecks(services, name):
    healthcheck = services[name].get("healthcheck") or {}
    assert healthcheck.get("test"), f"{name} has no healthcheck"
    assert not healthcheck.get("disable")


def test_the_database_lives_in_a_named_volume(compose, services):
    mounts = [volume.split(":") for volume in services["postgres"].get("volumes", []) if isinstance(volume, str)]
    data_mounts = [source for source, target, *_ in mounts if target == "/var/lib/postgresql/data"]
    assert data_mounts, "postgres keeps its data in the container"
    assert data_mounts[0] in (compose.get("volumes") or {}), "the database volume is not a named volume"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_healthy_data_stores(services, name):
    depends_on = services[name].get("depends_on") or {}
    assert isinstance(depends_on, dict), f"{name} depends on services without waiting for their health"
    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"


def test_web_worker_and_beat_share_exactly_the_same_settings(services):
    web, worker, beat = (environment_of(services[name]) for name in APP_SERVICES)
    assert web == worker == beat
    assert web
    assert services["web"].get("env_file") == services["worker"].get("env_file") == services["beat"].get("env_file")


def test_app_services_set_only_variables_that_settings_read(services):
    environment = environment_of(services["web"])
    assert set(environment) - settings_variables() == set()
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"} <= set(environment)


def test_app_services_use_the_stack_data_stores_with_debug_off(services):
    environment = environment_of(services["web"])
    assert urlsplit(environment["DATABASE_URL"]).hostname == "postgres"
    assert urlsplit(environment["REDIS_URL"]).hostname == "redis"
    assert environment["DEBUG"].lower() == "false"
    # Interpolated from .env with no default: compose refuses to start without a secret key.
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", environment["SECRET_KEY"])


def test_the_schema_is_migrated_before_web_worker_and_beat_start(services):
    migrations = [
        name
        for name, service in services.items()
        if "manage.py" in command_of(service) and "migrate" in command_of(service)
    ]
    assert migrations, "no service runs manage.py migrate"
    for name in APP_SERVICES:
        depends_on = services[name]["depends_on"]
        assert any(depends_on.get(m, {}).get("condition") == "service_completed_successfully" for m in migrations)


def test_web_serves_the_site_on_port_8000(services):
    command = command_of(services["web"])
    assert command[0] in {"uvicorn", "gunicorn"}
    assert any(part.startswith("fusionhub.") for part in command)
    assert option(command, "--port") == "8000"
    assert any(str(port).split(":")[-1] == "8000" for port in services["web"].get("ports", []))


@pytest.mark.parametrize("name", ["worker", "beat"])
def test_worker_and_beat_run_the_fusionhub_celery_app(services, name):
    command = command_of(services[name])
    assert command[0] == "celery"
    assert option(command, "-A", "--app") == "fusionhub"
    assert name in command


def test_worker_consumes_every_queue_tasks_are_routed_to(services):
    queues = set(option(command_of(services["worker"]), "-Q", "--queues").split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert {settings.CELERY_TASK_DEFAULT_QUEUE, *routed} <= queues
    assert set(settings.CELERY_WORKER_QUEUES.split(",")) == queues


def test_dockerfile_builds_static_files_and_runs_as_a_user():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert stages[-1] == "python:3.11-slim"
    assert "requirements.txt" in dockerfile
    assert "npm ci" in dockerfile
    assert "collectstatic" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users, "the image runs as root"
    assert users[-1] not in {"root", "0"}


def test_dockerignore_keeps_secrets_and_local_environments_out_of_the_image():
    ignored = set((BASE_DIR / ".dockerignore").read_text().split())
    assert {".env", ".git", ".venv", "node_modules", ".data"} <= ignored


def test_env_example_lists_every_variable_settings_read_with_a_comment():
    lines = (BASE_DIR / ".env.example").read_text().splitlines()
    listed = {}
    for index, line in enumerate(lines):
        match = re.match(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)
        if match:
            listed[match.group(1)] = index

    missing = settings_variables() - set(listed)
    assert not missing, f".env.example does not list {sorted(missing)}"
    for name in settings_variables():
        above = lines[listed[name] - 1]
        assert above.startswith("# "), f"{name} has no comment"
        assert not re.match(r"^#\s*[A-Z][A-Z0-9_]*=", above), f"{name} has no comment of its own"
    unknown = set(listed) - settings_variables()
    assert not unknown, f".env.example lists {sorted(unknown)}, which settings.py does not read"
