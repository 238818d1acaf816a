"""Count and period cards (次卡 / 期限卡, L8)."""
