"""Tests of the Telegram target."""
