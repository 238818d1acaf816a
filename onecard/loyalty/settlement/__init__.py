"""Settlement statements between stores and between merchants (L6)."""
