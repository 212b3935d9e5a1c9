"""The web pages okno serves itself (the private ticket status page)."""
