"""RSA keys and App JWTs for tests."""

from __future__ import annotations

import functools
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@functools.lru_cache(maxsize=8)
def _cached_keypair(slot: int) -> tuple[str, str]:
    return _new_keypair()


def _new_keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


def generate_rsa_keypair(*, cached: bool = True, slot: int = 0) -> tuple[str, str]:
    """``(private_pem, public_pem)`` of a 2048-bit RSA key.

    Key generation costs ~50-200 ms, so by default one key per ``slot`` is generated
    per process and reused; pass ``cached=False`` for a fresh key.
    """
    return _cached_keypair(slot) if cached else _new_keypair()


def app_jwt(app_id: int | str, private_pem: str, *, iat: int | None = None, exp_seconds: int = 540,
            algorithm: str = "RS256") -> str:
    """A GitHub App JWT like the ones GitHub documents (iat 60 s in the past)."""
    import jwt

    now = int(time.time()) if iat is None else iat
    payload = {"iat": now - 60, "exp": now + exp_seconds, "iss": str(app_id)}
    return jwt.encode(payload, private_pem, algorithm=algorithm)
