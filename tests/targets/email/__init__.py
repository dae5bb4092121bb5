"""Tests of the e-mail target against a real SMTP server."""
