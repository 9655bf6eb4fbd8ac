"""ipledge: risk."""
