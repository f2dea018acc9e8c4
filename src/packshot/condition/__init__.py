"""condition stage."""
