"""The Telegram channel: Bot API calls, limits, normalising updates and rendering messages."""
