"""Read models: statements that answer a request without loading entities."""
