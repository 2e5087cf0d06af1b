"""Pricing: the only code that turns lines into money (see `pricing.totals`)."""
