"""chatkb.cli."""
