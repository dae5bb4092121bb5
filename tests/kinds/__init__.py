"""Tests of the entry kinds."""
