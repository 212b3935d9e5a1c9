"""Mango Office request signatures: ``sign = sha256(vpbx_api_key + json + vpbx_api_salt)``.

The signature covers the ``json`` form field exactly as sent, so it is checked on the raw
string before any JSON parsing; every comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac


def mango_sign(key: str, json_text: str, salt: str) -> str:
    """The lower-case hex signature Mango computes for ``json_text``."""
    return hashlib.sha256((key + json_text + salt).encode("utf-8")).hexdigest()


def verify_mango(
    *, presented_key: str, presented_sign: str, json_text: str, key: str, salt: str
) -> bool:
    """Whether a request comes from the VPBX that owns ``key`` and ``salt``.

    Both checks always run, so the time taken does not tell a wrong key from a wrong signature.
    """
    key_ok = hmac.compare_digest(presented_key.encode("utf-8"), key.encode("utf-8"))
    expected = mango_sign(key, json_text, salt)
    sign_ok = hmac.compare_digest(
        presented_sign.strip().lower().encode("utf-8"), expected.encode()
    )
    return key_ok and sign_ok
