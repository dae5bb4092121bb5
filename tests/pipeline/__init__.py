"""Tests of the Home-Assistant-independent pipeline."""
