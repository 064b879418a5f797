"""Built-in constraints."""
