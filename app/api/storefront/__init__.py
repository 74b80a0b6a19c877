"""The storefront surface (`/v1/storefront/...`): what a merchant's own mini program calls."""
