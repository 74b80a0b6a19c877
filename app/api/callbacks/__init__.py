"""The callback surface: what payment gateways and carriers send the platform, each
authenticated by its sender's signature."""
