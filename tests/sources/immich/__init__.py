"""Tests of the Immich source."""
