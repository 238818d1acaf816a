"""Points (L4): earning, redeeming, expiring and the merchant's points rules."""
