"""Conversations: the requester's private chat and the agents' group (aiogram routers)."""
