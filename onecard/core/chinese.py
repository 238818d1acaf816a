"""Pinyin for search: 张三 → initials 'zs' and full 'zhangsan', so a cashier can type either."""

from functools import lru_cache

from pypinyin import Style, lazy_pinyin


@lru_cache(maxsize=200_000)
def pinyin_keys(name: str) -> tuple[str, str]:
    """(initials, full pinyin) in lower case; non-Chinese letters and digits are kept as they are."""
    name = (name or "").strip()
    if not name:
        return "", ""
    full = lazy_pinyin(name, style=Style.NORMAL, errors="default")
    initials = "".join(p[0] for p in full if p and p[0].isalnum()).lower()
    return initials[:40], "".join(full).lower().replace(" ", "")[:120]


def prefix_range(prefix: str) -> tuple[str, str]:
    """Bounds [lo, hi) such that every string starting with `prefix` lies in them.

    A range on an indexed column uses the index on both SQLite and PostgreSQL, where LIKE 'x%' may not.
    """
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)
