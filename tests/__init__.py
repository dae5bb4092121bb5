"""Tests for Notify Bridge."""
