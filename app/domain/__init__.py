"""The business rules: no framework, no driver, no settings."""
