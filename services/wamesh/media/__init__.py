"""Media: stored in chunks behind one MediaStore interface (PostgreSQL by default)."""
