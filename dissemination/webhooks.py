"""Webhooks as the Standard Webhooks specification has them: secrets, signatures, safe addresses and
one HTTP attempt. Receivers verify with the specification's published libraries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
TIMEOUT_SECONDS = 15.0
# How much of a receiver's answer is kept as the reason of a failed attempt.
ERROR_EXCERPT_BYTES = 200


def generate_secret() -> str:
    """A new signing secret in the specification's format: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(*, secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(*, secret: str, message_id: str, timestamp: int, body: bytes, content_type: str) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret=secret, message_id=message_id, timestamp=timestamp, body=body),
        "Content-Type": content_type,
        "User-Agent": "FusionHub-Webhooks",
    }


class UnsafeAddress(Exception):
    """The URL points somewhere a webhook may not go (an internal address, or plain http in production)."""


def _is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6:
        # An IPv6 address may carry an IPv4 one (mapped, 6to4, Teredo): judge what it carries too.
        embedded = [ip.ipv4_mapped, ip.sixtofour, ip.teredo[1] if ip.teredo else None]
        if any(inner is not None and _is_internal(str(inner)) for inner in embedded):
            return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def _allows_private_addresses() -> bool:
    return settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES


def check_url(url: str) -> tuple[str, str, int]:
    """Refuse a URL a webhook may not go to; returns (scheme, host, port).

    https is required unless WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on (as it is with DEBUG, for a
    receiver on the developer's machine). The address itself is checked by `resolve`.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress("Give a full http or https URL.")
    if scheme != "https" and not _allows_private_addresses():
        raise UnsafeAddress("Webhook URLs must use https.")
    if parts.username or parts.password:
        raise UnsafeAddress("Leave credentials out of the URL: receivers check the signature instead.")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise UnsafeAddress("The URL's port is not a number between 1 and 65535.") from None
    return scheme, parts.hostname, port


def resolve(host: str, port: int) -> str:
    """The address to connect to, resolved now: every address of the host must be public unless
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES is on, so that a DNS answer cannot turn a webhook inward."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeAddress(f"The host {host} does not resolve ({error}).") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeAddress(f"The host {host} does not resolve.")
    internal = [address for address in addresses if _is_internal(address)]
    if internal and not _allows_private_addresses():
        raise UnsafeAddress(
            f"The host {host} resolves to an internal address ({internal[0]}); webhooks go to public addresses only."
        )
    return addresses[0]


def validate_url(url: str) -> None:
    """For a form or service: the URL as a ValidationError on the `url` field if it may not be used."""
    try:
        _scheme, host, port = check_url(url)
        resolve(host, port)
    except UnsafeAddress as error:
        raise ValidationError({"url": str(error)}) from None


@dataclass(frozen=True)
class Attempt:
    """What one POST achieved: the status code if the receiver answered, and the reason if it failed."""

    status: int | None
    error: str = ""
    location: str = ""

    @property
    def is_success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def post(*, url: str, body: bytes, request_headers: dict[str, str]) -> Attempt:
    """POST once, to the address checked just now, never following a redirect; never raises for a
    network fault, a refusal or a timeout (they come back as a failed attempt)."""
    try:
        scheme, host, port = check_url(url)
        address = resolve(host, port)
    except UnsafeAddress as error:
        return Attempt(status=None, error=f"Refused: {error}")
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if scheme == "https" else 80
    host_header = host if ":" not in host else f"[{host}]"
    if port != default_port:
        host_header += f":{port}"
    timeout = urllib3.Timeout(total=TIMEOUT_SECONDS)
    # Connect to the address that was checked, not to whatever the name resolves to a moment later;
    # TLS still verifies the certificate against the host name.
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address, port, timeout=timeout, retries=False, server_hostname=host, assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
        )  # fmt: skip
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    try:
        response = pool.urlopen(
            "POST",
            target,
            body=body,
            headers={**request_headers, "Host": host_header},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            excerpt = response.read(ERROR_EXCERPT_BYTES, decode_content=False)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        return Attempt(status=None, error=_describe(error))
    except OSError as error:
        return Attempt(status=None, error=f"{error.__class__.__name__}: {error}")
    finally:
        pool.close()
    status = response.status
    if 200 <= status < 300:
        return Attempt(status=status)
    if 300 <= status < 400:
        location = response.headers.get("Location", "")
        return Attempt(status=status, error=f"HTTP {status}: redirects are not followed.", location=location)
    text = excerpt.decode("utf-8", "replace").strip()
    error = f"HTTP {status} {response.reason or ''}".strip()
    return Attempt(status=status, error=f"{error}: {text}" if text else error)


def _describe(error: urllib3.exceptions.HTTPError) -> str:
    # Before the timeout: urllib3 makes a refused connection a kind of connect timeout.
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return f"Could not connect: {error.__cause__ or error}"
    if isinstance(error, urllib3.exceptions.TimeoutError):
        return f"No answer within {TIMEOUT_SECONDS:g} s."
    if isinstance(error, urllib3.exceptions.SSLError):
        return f"TLS failed: {error}"
    return f"{error.__class__.__name__}: {error}"
