"""Logistics: the carrier port and its results, the shop's carrier accounts and its
sender/return address book. Builds on orders (the carrier catalogue, address regions)."""
