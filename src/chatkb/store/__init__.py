"""chatkb.store."""
