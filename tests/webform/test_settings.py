"""The web form's settings section."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from channels.webform.settings import WebformSettings


def test_defaults_match_the_documented_limits() -> None:
    settings = WebformSettings()

    assert settings.max_requests_per_ip_per_hour == 20
    assert settings.max_requests_per_address_per_hour == 10
    assert (settings.max_name_chars, settings.max_subject_chars) == (200, 200)
    assert (settings.min_text_chars, settings.max_text_chars) == (10, 20_000)


def test_attachment_limits_default_to_the_callers() -> None:
    assert WebformSettings().attachment_limits(max_attachments=10, max_attachment_bytes=5) == (
        10,
        5,
    )
    own = WebformSettings(max_attachments=3, max_attachment_bytes=1024)
    assert own.attachment_limits(max_attachments=10, max_attachment_bytes=5) == (3, 1024)


@pytest.mark.parametrize("name", ["email", "description", "csrf_token", "Bad-Name"])
def test_honeypot_cannot_take_a_real_field_or_odd_name(name: str) -> None:
    with pytest.raises(ValidationError, match="honeypot_field"):
        WebformSettings(honeypot_field=name)
