"""Tests of the receiving half of the Telegram target (updates, commands, edits)."""
