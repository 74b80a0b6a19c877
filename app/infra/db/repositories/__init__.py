"""SQLAlchemy implementations of the domain's repository ports, one module per context."""
