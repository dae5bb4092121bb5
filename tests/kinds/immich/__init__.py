"""Tests of the Immich source in Home Assistant."""
