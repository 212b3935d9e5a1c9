"""Telegram updates (the shared corpus) become okno's InboundMessage: pure, no network."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram.types import Update

from channels.telegram.normalize import FileRef, files_of, normalize_message, with_files
from tests.telegram.harness import fixture
from ticketing.domain import ChannelKind


def message_of(name: str, **changes: Any) -> Any:
    raw = fixture(name)
    key = "message" if "message" in raw else "edited_message"
    raw[key] |= changes
    update = Update.model_validate(raw)
    return update.message or update.edited_message


def test_private_text_becomes_a_message_with_a_stable_id_and_reply_address() -> None:
    normalized = normalize_message(message_of("01-private-text-message.json"), timezone="UTC")

    assert normalized is not None
    message = normalized.message
    assert message.channel is ChannelKind.TELEGRAM
    assert message.external_id == "100000001:10"
    assert message.text == "Printer on floor 3 does not print"
    assert message.sender.telegram_id == 100000001
    assert message.sender.name == "Ivan Petrov"
    assert message.sender.locale == "ru"
    assert message.sender.timezone == "UTC"
    assert message.reply_to is not None
    assert (message.reply_to.address, message.reply_to.thread_hint) == ("100000001", "10")
    assert message.received_at == datetime.fromtimestamp(1760000000, UTC)
    assert normalized.files == ()


def test_edit_of_a_message_keeps_its_id() -> None:
    edited = normalize_message(message_of("03-edited-message-private.json"), timezone=None)

    assert edited is not None
    assert edited.message.external_id == "100000001:10"
    assert "room 312" in edited.message.text


def test_photo_takes_the_largest_size_and_the_caption() -> None:
    normalized = normalize_message(message_of("09-private-photo-with-caption.json"), timezone=None)

    assert normalized is not None
    assert normalized.message.text == "Error on the display"
    [photo] = normalized.files
    assert photo.file_id.endswith("0003")
    assert photo.content_type == "image/jpeg"


def test_document_keeps_its_name_and_type() -> None:
    [document] = files_of(message_of("10-private-document.json"))

    assert document == FileRef(
        "BQACAgIAAxkBAAMNZ0000000000000000000000000000000001",
        "printer-log.pdf",
        "application/pdf",
        536392,
    )


def test_album_parts_carry_their_group() -> None:
    first = normalize_message(message_of("11-private-album-part1.json"), timezone=None)
    second = normalize_message(message_of("12-private-album-part2.json"), timezone=None)

    assert first is not None
    assert second is not None
    assert first.media_group_id == second.media_group_id == "13800000000000001"
    assert first.message.external_id != second.message.external_id


def test_voice_is_an_ogg_attachment() -> None:
    voice = {"file_id": "VOICE1", "file_unique_id": "v", "duration": 3, "mime_type": "audio/ogg"}
    normalized = normalize_message(
        message_of("01-private-text-message.json", text=None, voice=voice), timezone=None
    )

    assert normalized is not None
    assert normalized.files == (FileRef("VOICE1", "voice-10.ogg", "audio/ogg", None),)


def test_forwarded_text_says_where_it_came_from() -> None:
    origin = {
        "type": "user",
        "date": 1759990000,
        "sender_user": {"id": 5, "is_bot": False, "first_name": "Olga"},
    }
    normalized = normalize_message(
        message_of("01-private-text-message.json", forward_origin=origin), timezone=None
    )

    assert normalized is not None
    assert normalized.message.text.startswith("[forwarded from Olga]\n")
    assert normalized.message.meta["forwarded"] is True


def test_reply_refers_to_the_replied_message() -> None:
    replied = {
        "message_id": 7,
        "date": 1759990000,
        "chat": {"id": 100000001, "type": "private"},
        "text": "Заявка #5 принята",
    }
    normalized = normalize_message(
        message_of("01-private-text-message.json", reply_to_message=replied), timezone=None
    )

    assert normalized is not None
    assert normalized.message.refs.message_ids == ("100000001:7",)


def test_english_language_code_maps_and_unknown_ones_do_not() -> None:
    english = {"id": 1, "is_bot": False, "first_name": "J", "language_code": "en-GB"}
    german = {"id": 1, "is_bot": False, "first_name": "J", "language_code": "de"}

    en = normalize_message(
        message_of("01-private-text-message.json", **{"from": english}), timezone=None
    )
    de = normalize_message(
        message_of("01-private-text-message.json", **{"from": german}), timezone=None
    )

    assert en is not None
    assert de is not None
    assert (en.message.sender.locale, de.message.sender.locale) == ("en", None)


def test_service_messages_and_bots_give_nothing() -> None:
    assert (
        normalize_message(message_of("05-forum-topic-created-by-bot.json"), timezone=None) is None
    )


def test_files_too_large_are_named_in_the_text() -> None:
    normalized = normalize_message(message_of("10-private-document.json"), timezone=None)
    assert normalized is not None
    ref = normalized.files[0]

    message = with_files(normalized, [], [ref])

    assert message.text == "Scan of the error log\n[not attached, too large: printer-log.pdf]"
    assert message.attachments == ()
