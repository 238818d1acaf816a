"""Models of the loyalty app, one module per sub-domain (the ledger first; cards, holds and points follow)."""

from .cards import Card, CardBatch, CardProduct, MemberTier, Tier, TierChange, TierRule, UsedQrCode
from .ledger import Account, JournalEntry, LedgerWriteRefused, Posting
from .packages import MemberPackage, MemberPackageLine, PackageUse, ServicePackage, ServicePackageLine
from .points import PointsEarnRule, PointsGiveBack, PointsLot, PointsLotUse, PointsPolicy, PointsReversal
from .prepaid import AgreementAcceptance, AgreementVersion, PrepaidSettings, PrepaidStoreStatus
from .settlement import SettlementLine, SettlementStatement
from .stored_value import CardTransaction, RebateForm, RebateRule, StoredValueSettings, TopupBonusRule

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
