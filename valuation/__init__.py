"""ipledge: valuation."""
