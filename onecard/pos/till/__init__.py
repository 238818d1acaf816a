"""The till (收银台): the card screen (top up, charge, refund, redeem), count and period cards, and the sale screen."""
