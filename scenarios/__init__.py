"""ipledge: scenarios."""
