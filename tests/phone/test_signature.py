"""Mango signatures: the test vector, and every way a request can fail to be ours."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from channels.phone.signature import mango_sign, verify_mango
from tests.phone.mango import KEY, SALT, sample


def _vector() -> dict[str, str]:
    lines = sample("sign-test-vector.txt").splitlines()
    found = {}
    for line in lines:
        for name in ("vpbx_api_key", "vpbx_api_salt", "json", "sign"):
            if line.startswith(f"{name} = "):
                found[name] = line.removeprefix(f"{name} = ")
    found["form"] = lines[lines.index("form body:") + 1]
    return found


def test_signature_matches_the_test_vector() -> None:
    vector = _vector()
    assert (vector["vpbx_api_key"], vector["vpbx_api_salt"]) == (KEY, SALT)
    assert mango_sign(KEY, vector["json"], SALT) == vector["sign"]


def test_the_vectors_form_body_carries_the_json_exactly_as_signed() -> None:
    vector = _vector()
    form = dict(parse_qsl(vector["form"]))
    assert form["json"] == vector["json"]
    assert verify_mango(
        presented_key=form["vpbx_api_key"],
        presented_sign=form["sign"],
        json_text=form["json"],
        key=KEY,
        salt=SALT,
    )


def test_an_upper_case_signature_is_the_same_signature() -> None:
    vector = _vector()
    assert verify_mango(
        presented_key=KEY,
        presented_sign=vector["sign"].upper(),
        json_text=vector["json"],
        key=KEY,
        salt=SALT,
    )


@pytest.mark.parametrize(
    ("key", "sign_key", "sign_salt", "json_text"),
    [
        ("otherkey", "otherkey", SALT, None),  # another VPBX's key, signed with it
        (KEY, KEY, "othersalt", None),  # the right key, a wrong salt
        (KEY, KEY, SALT, "re-serialised"),  # the signature covers the raw string
        ("", KEY, SALT, None),
        ("кириллица", KEY, SALT, None),
    ],
)
def test_wrong_key_salt_or_json_fails(
    key: str, sign_key: str, sign_salt: str, json_text: str | None
) -> None:
    vector = _vector()
    signed = vector["json"]
    presented = signed.replace(" ", "") if json_text else signed
    assert not verify_mango(
        presented_key=key,
        presented_sign=mango_sign(sign_key, signed, sign_salt),
        json_text=presented,
        key=KEY,
        salt=SALT,
    )


@pytest.mark.parametrize("sign", ["", "0" * 64, "не-hex", "c6" * 100])
def test_garbage_signatures_fail(sign: str) -> None:
    assert not verify_mango(
        presented_key=KEY, presented_sign=sign, json_text=_vector()["json"], key=KEY, salt=SALT
    )
