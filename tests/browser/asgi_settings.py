"""Settings of the uvicorn process that serves ASGI browser tests (tests/browser/asgi.py): the
project's own, with the test run's password hasher, since the test process hashes the demo
people's passwords with it."""

from fusionhub.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
