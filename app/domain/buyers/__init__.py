"""Buyers: the storefront's credentials (a token pair per login, from the one account system)."""
