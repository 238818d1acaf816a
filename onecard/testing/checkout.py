"""Constants of the checkout tests: the barcodes of the two products the `shop` fixture sells."""

CAKE_BARCODE = "6900000000011"  # CAKE-1, ¥30
TEA_BARCODE = "6901234567892"  # TEA-1, ¥5
