"""Phone numbers as every channel writes them: E.164, so one person is one identity.

The web form, the JSON API and the PBX all call :func:`normalize_phone`; were they to read
numbers differently, the same caller would become two contacts.
"""

from __future__ import annotations

import phonenumbers

__all__ = ["MAX_NUMBER_INPUT", "normalize_phone"]

MAX_NUMBER_INPUT = 64


def normalize_phone(raw: str, region: str = "RU") -> str | None:
    """``raw`` as E.164 (``+79121234567``), or None when it is no valid phone number.

    "8 (912) 123-45-67", "+7 912 123 45 67" and "79121234567" are the same person in RU.
    PBXs write international numbers as bare digits ("380441234567"), which the national
    reading would get wrong, so a digits-only string is also tried with a leading "+".
    """
    if not raw or len(raw) > MAX_NUMBER_INPUT or "@" in raw:
        return None
    candidates = [raw]
    digits = "".join(ch for ch in raw if ch.isdigit())
    if digits and raw.strip().lstrip("+").replace(" ", "").isdigit():
        candidates.append("+" + digits.removeprefix("00"))
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None
