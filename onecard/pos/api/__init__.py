"""The POS terminal API under /api/v1/pos/, by concern: lookups, money, holds, packages, checkout.

Every request is signed by a registered terminal (pos.authentication); views are thin and call the
services of loyalty, promotions and pos."""
