"""The cashier screen (收银台): look a card up, then top up, charge, refund or redeem points."""
