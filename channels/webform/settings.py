"""Web form settings: field limits, rate limits, the honeypot and CSRF token lifetime.

Attachment limits default to the storage settings (``storage.max_attachments``,
``storage.max_attachment_bytes``); the composition root resolves them with
:meth:`WebformSettings.attachment_limits`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

#: Names the form itself uses; the honeypot must not take one of them.
FORM_FIELDS = frozenset(
    {"name", "email", "phone", "service", "subject", "description", "files"}
    | {"csrf_token", "submission_id", "lang", "attachments"}
)


class WebformSettings(BaseModel):
    """The public web form (``/form``, ``/api/v1/form``)."""

    enabled: bool = Field(default=True, description="serve /form and /api/v1/form")
    max_requests_per_ip_per_hour: int = Field(
        default=20, ge=1, description="form submissions accepted from one client IP per hour"
    )
    max_requests_per_address_per_hour: int = Field(
        default=10, ge=1, description="submissions for one e-mail address or phone per hour"
    )
    max_name_chars: int = Field(default=200, ge=1, le=200, description="longest name accepted")
    max_subject_chars: int = Field(
        default=200, ge=1, le=300, description="longest subject accepted"
    )
    min_text_chars: int = Field(
        default=10, ge=1, description='shortest description accepted ("help" says too little)'
    )
    max_text_chars: int = Field(default=20_000, ge=1, description="longest description accepted")
    max_attachments: int | None = Field(
        default=None, ge=0, description="files per submission; unset = storage.max_attachments"
    )
    max_attachment_bytes: int | None = Field(
        default=None, ge=1, description="bytes per file; unset = storage.max_attachment_bytes"
    )
    honeypot_field: str = Field(
        default="website",
        pattern=r"^[a-z][a-z0-9_]{0,39}$",
        description="hidden field that only bots fill in",
    )
    csrf_max_age_seconds: int = Field(
        default=4 * 3600, ge=60, description="how long a rendered form stays valid"
    )

    @field_validator("honeypot_field")
    @classmethod
    def _honeypot_is_free(cls, value: str) -> str:
        if value in FORM_FIELDS:
            msg = f"{value!r} is a real field of the form"
            raise ValueError(msg)
        return value

    def attachment_limits(
        self, *, max_attachments: int, max_attachment_bytes: int
    ) -> tuple[int, int]:
        """``(files, bytes per file)``: this section's values, else the caller's defaults."""
        return (
            max_attachments if self.max_attachments is None else self.max_attachments,
            max_attachment_bytes
            if self.max_attachment_bytes is None
            else self.max_attachment_bytes,
        )
