"""qa stage."""
