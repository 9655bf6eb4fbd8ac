"""ipledge: api."""
