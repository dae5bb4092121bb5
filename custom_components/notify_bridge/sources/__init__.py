"""Sources: everything that produces events."""
