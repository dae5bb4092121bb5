"""What the kinds share: flow helpers, entity base classes, webhook sources."""
