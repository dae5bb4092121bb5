"""Tests of the e-mail target kind."""
