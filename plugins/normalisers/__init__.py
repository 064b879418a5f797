"""Built-in normalisers."""
