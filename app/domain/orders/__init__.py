"""Orders: the lifecycle, pricing, address regions and carriers."""
