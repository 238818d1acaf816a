"""Many-row inserts for imports and demo data: the rows `bulk_create` would write, with far less Python.

Django's `bulk_create` compiles every value of every row through the field machinery (~400 µs per member
with its tags and consent rows). Here each column gets one converter chosen once per call, ids are
reserved up front, and the rows go in with `executemany` on SQLite or `COPY` on PostgreSQL. Other
backends fall back to `bulk_create`. Callers run inside `transaction.atomic()` (SQLite takes the write
lock at BEGIN, so reserving ids by reading the high-water mark is safe there).
"""

import datetime
from enum import Enum

from django.conf import settings
from django.db import connections, router

from onecard.core.chinese import pinyin_keys

_TEXT = {"CharField", "TextField", "SlugField", "EmailField", "URLField", "GenericIPAddressField"}
_INT = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
}


def _converter(field, connection):
    """A function turning one Python value of `field` into what the database driver takes."""
    target = field.target_field if field.is_relation else field
    internal = target.get_internal_type()
    prep = field.get_db_prep_save

    def slow(value):
        value = prep(value, connection)
        # TextChoices members are str subclasses; drivers get the plain string, as Django's adapters do.
        return str(value) if isinstance(value, str) and type(value) is not str else value

    if internal in _TEXT:

        def text(value):
            if value is None or type(value) is str:
                return value
            return value.value if isinstance(value, Enum) and type(value.value) is str else slow(value)

        return text
    if internal == "DateTimeField" and connection.vendor == "sqlite" and settings.USE_TZ:
        tz = connection.timezone

        def sqlite_datetime(value):  # what DatabaseOperations.adapt_datetimefield_value makes of it
            if type(value) is datetime.datetime and value.tzinfo is not None:
                return str(value.astimezone(tz).replace(tzinfo=None))
            return None if value is None else slow(value)

        return sqlite_datetime
    if internal == "DateField" and connection.vendor == "sqlite":

        def sqlite_date(value):  # adapt_datefield_value: str(value)
            return value.isoformat() if type(value) is datetime.date else slow(value)

        return sqlite_date
    exact = int if internal in _INT else bool if internal == "BooleanField" else None
    if exact is None:
        return slow

    def fast(value):
        return value if value is None or type(value) is exact else slow(value)

    return fast


def _vendor(model):
    connection = connections[router.db_for_write(model)]
    if connection.vendor == "sqlite":
        return connection, "sqlite"
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        if is_psycopg3:  # COPY through psycopg 3's cursor.copy()
            return connection, "postgresql"
    return connection, None


def reserve_ids(model, count):
    """`count` fresh primary keys of `model` (the caller holds the write lock on SQLite), or None."""
    connection, vendor = _vendor(model)
    table, pk = model._meta.db_table, model._meta.pk.column
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            cursor.execute(f"SELECT MAX({qn(pk)}) FROM {qn(table)}")  # noqa: S608 - names from the models, values bound
            high = cursor.fetchone()[0] or 0
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            high = max(high, row[0] if row and row[0] else 0)  # AUTOINCREMENT never reuses an id
            return list(range(high + 1, high + 1 + count))
        if vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [qn(table), pk, count],
            )
            return [r[0] for r in cursor.fetchall()]
    return None


def insert_values(model, fields, rows):
    """Insert tuples of Python values for `fields` (attnames) of `model`; ids are not returned."""
    rows = list(rows)
    if not rows:
        return 0
    connection, vendor = _vendor(model)
    meta = model._meta
    field_objs = [meta.get_field(name) if name != "pk" else meta.pk for name in fields]
    if vendor is None:
        model.objects.bulk_create(
            [model(**dict(zip([f.attname for f in field_objs], row, strict=True))) for row in rows],
            batch_size=2000,
        )
        return len(rows)
    converters = [_converter(f, connection) for f in field_objs]
    prepared = [tuple(c(v) for c, v in zip(converters, row, strict=True)) for row in rows]
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in field_objs)
    table = qn(meta.db_table)
    with connection.cursor() as cursor:
        if vendor == "sqlite":
            marks = ", ".join(["%s"] * len(field_objs))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", prepared)  # noqa: S608 - names from the models, values bound
        else:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in prepared:
                    copy.write_row(row)
    return len(rows)


def new_instances(model, rows, **common):
    """`model(**common, **row)` for each row, the quick way: positional values, related objects cached.

    Keys are field names or attnames, as for the model's constructor; an unknown key raises TypeError.
    """
    meta = model._meta
    fields = list(meta.concrete_fields)
    index = {}
    for i, f in enumerate(fields):
        index[f.name] = index[f.attname] = i
    template = []
    per_row_defaults = []
    for i, f in enumerate(fields):
        if f.has_default() and callable(f.default):
            per_row_defaults.append((i, f))
            template.append(None)
        else:
            template.append(f.get_default())
    objs = []
    for row in rows:
        values = list(template)
        given = set()
        cached = {}
        for key, value in (*common.items(), *row.items()):
            try:
                i = index[key]
            except KeyError:
                raise TypeError(f"{model.__name__}() got an unexpected keyword argument '{key}'") from None
            f = fields[i]
            if f.is_relation and key == f.name:
                if value is not None and not isinstance(value, f.remote_field.model):
                    raise ValueError(f'"{key}" must be a "{f.remote_field.model.__name__}" instance.')
                cached[key] = value
                value = None if value is None else value.pk
            values[i] = value
            given.add(i)
        for i, f in per_row_defaults:
            if i not in given:
                values[i] = f.get_default()
        obj = model(*values)
        if cached:
            obj._state.fields_cache.update(cached)
        objs.append(obj)
    return objs


def insert_objects(objs):
    """Insert unsaved model instances of one model, filling in their primary keys (like bulk_create)."""
    objs = list(objs)
    if not objs:
        return objs
    model = type(objs[0])
    meta = model._meta
    ids = reserve_ids(model, len(objs))
    if ids is None:
        return model.objects.bulk_create(objs, batch_size=2000)
    fields = [f for f in meta.concrete_fields if not f.generated]
    pre_save = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    pk = meta.pk
    rows = []
    attnames = [f.attname for f in fields]
    for obj, new_id in zip(objs, ids, strict=True):
        for f in pre_save:
            f.pre_save(obj, add=True)
        setattr(obj, pk.attname, new_id)
        obj._state.adding = False
        obj._state.db = router.db_for_write(model)
        rows.append([getattr(obj, a) for a in attnames])
    insert_values(model, attnames, rows)
    return objs


# ---- pinyin, fast ----------------------------------------------------------------------------------------

_CHAR_PINYIN: dict[str, str | None] = {}


def _char_pinyin(char):
    """The pinyin pypinyin gives `char` inside a longer word that is no phrase, or None (no fast path)."""
    try:
        return _CHAR_PINYIN[char]
    except KeyError:
        pass
    from pypinyin import Style, lazy_pinyin
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS

    value = None
    if RE_HANS.match(char) and ord(char) in PINYIN_DICT and char not in PHRASES_DICT:
        result = lazy_pinyin(char, style=Style.NORMAL, errors="default")
        if len(result) == 1 and result[0].isascii() and result[0].isalpha():
            value = result[0]
    _CHAR_PINYIN[char] = value
    return value


def fast_pinyin_keys(name):
    """`core.chinese.pinyin_keys(name)`, computed per character when no part of the name is a phrase.

    pypinyin reads a word from its phrase dictionary when the word is a phrase and character by
    character otherwise, so a name of Chinese characters none of whose substrings is a phrase gets
    exactly the characters' own readings. Anything else goes to `pinyin_keys` itself.
    """
    text = (name or "").strip()
    if not text or len(text) > 6:
        return pinyin_keys(name)
    from pypinyin.constants import PHRASES_DICT

    full = []
    for char in text:
        value = _char_pinyin(char)
        if value is None:
            return pinyin_keys(name)
        full.append(value)
    n = len(text)
    for i in range(n - 1):
        for j in range(i + 2, n + 1):
            if text[i:j] in PHRASES_DICT:
                return pinyin_keys(name)
    initials = "".join(p[0] for p in full).lower()
    return initials[:40], "".join(full).lower()[:120]
