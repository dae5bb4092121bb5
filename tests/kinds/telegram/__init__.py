"""Tests of the Telegram target's Home Assistant side."""
