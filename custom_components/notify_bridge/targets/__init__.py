"""Targets: senders that deliver notifications (Telegram, e-mail, Home Assistant)."""
