"""Models of the promotions app: promotion rules and their uses (coupons live in their own module)."""

from .coupons import Coupon, CouponIssue, CouponTemplate
from .promotions import Promotion, PromotionKind, PromotionUse

__all__ = ["Coupon", "CouponIssue", "CouponTemplate", "Promotion", "PromotionKind", "PromotionUse"]
