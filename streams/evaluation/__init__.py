"""Anonymous evaluation figures: per month, unit, profession and scheme, never per person."""
