"""Models of the loyalty app, one module per sub-domain (the ledger first; cards, holds and points follow)."""

from onecard.loyalty.models.cards import (
    Card,
    CardBatch,
    CardProduct,
    MemberTier,
    Tier,
    TierChange,
    TierRule,
    UsedQrCode,
)
from onecard.loyalty.models.ledger import Account, JournalEntry, LedgerWriteRefused, Posting
from onecard.loyalty.models.packages import (
    MemberPackage,
    MemberPackageLine,
    PackageUse,
    ServicePackage,
    ServicePackageLine,
)
from onecard.loyalty.models.points import (
    PointsEarnRule,
    PointsGiveBack,
    PointsLot,
    PointsLotUse,
    PointsPolicy,
    PointsReversal,
)
from onecard.loyalty.models.prepaid import (
    AgreementAcceptance,
    AgreementVersion,
    PrepaidSettings,
    PrepaidStoreStatus,
)
from onecard.loyalty.models.settlement import SettlementLine, SettlementStatement
from onecard.loyalty.models.stored_value import (
    CardTransaction,
    RebateForm,
    RebateRule,
    StoredValueSettings,
    TopupBonusRule,
)

__all__ = [
    "Account",
    "CardTransaction",
    "StoredValueSettings",
    "TopupBonusRule",
    "Card",
    "CardBatch",
    "CardProduct",
    "JournalEntry",
    "LedgerWriteRefused",
    "MemberPackage",
    "MemberPackageLine",
    "PackageUse",
    "ServicePackage",
    "ServicePackageLine",
    "MemberTier",
    "PointsEarnRule",
    "PointsLot",
    "PointsLotUse",
    "PointsGiveBack",
    "PointsPolicy",
    "PointsReversal",
    "RebateForm",
    "RebateRule",
    "AgreementAcceptance",
    "AgreementVersion",
    "PrepaidSettings",
    "PrepaidStoreStatus",
    "SettlementLine",
    "SettlementStatement",
    "Posting",
    "Tier",
    "TierChange",
    "TierRule",
    "UsedQrCode",
]
