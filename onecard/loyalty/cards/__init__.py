"""Cards (L2, L7): card products and batches, the card life cycle, numbers, QR and the card pages."""
