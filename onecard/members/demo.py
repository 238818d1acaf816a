"""Demo members with believable Chinese names, valid mobile numbers, birthdays, tags and sources."""

import datetime
import random
import time
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone

from onecard.core.validators import id_number_check_digit

from . import services
from .choices import FieldType, Gender, Source
from .models import CustomField, Tag

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石"
    "廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
MALE_CHARS = "伟刚勇毅俊峰强军平保东文辉力明永健世广志义兴良海山仁波宁贵福生龙元全国胜学祥才发武新利清飞彬富顺信子杰涛昌成康星光天达安岩中茂进林有坚和彪博诚先敬震振壮会思群豪心邦承乐绍功松善厚庆磊民友裕河哲江超浩亮政谦亨奇固之轮翰朗伯宏言若鸣朋斌梁栋维启克伦翔旭鹏泽晨辰士以建家致树炎德行时泰盛雄琛钧冠策腾楠榕风航弘"
FEMALE_CHARS = "秀娟英华慧巧美娜静淑惠珠翠雅芝玉萍红娥玲芬芳燕彩春菊兰凤洁梅琳素云莲真环雪荣爱妹霞香月莺媛艳瑞凡佳嘉琼勤珍贞莉桂娣叶璧璐娅琦晶妍茜秋珊莎锦黛青倩婷姣婉娴瑾颖露瑶怡婵雁蓓纨仪荷丹蓉眉君琴蕊薇菁梦岚苑婕馨瑗琰韵融园艺咏卿聪澜纯毓悦昭冰爽琬茗羽希宁欣飘育滢馥筠柔竹霭凝晓欢霄枫芸菲寒伊亚宜可姬舒影荔枝思丽"
MOBILE_PREFIXES = (
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "158",
    "159",
    "182",
    "183",
    "186",
    "187",
    "188",
    "189",
    "133",
    "153",
    "180",
    "181",
    "177",
    "199",
    "130",
    "131",
    "132",
    "155",
    "156",
    "185",
    "176",
    "166",
)
TAGS = [
    ("VIP", "#c2410c"),
    ("高消费", "#b91c1c"),
    ("新客", "#15803d"),
    ("沉睡", "#6b7280"),
    ("生日月", "#db2777"),
    ("团购客户", "#7c3aed"),
    ("敏感肌", "#0891b2"),
    ("健身爱好者", "#ca8a04"),
    ("宝妈", "#e11d48"),
    ("企业客户", "#1d4ed8"),
]
CUSTOM_FIELDS = [
    ("shoe_size", "鞋码", FieldType.NUMBER, []),
    ("skin_type", "肤质", FieldType.CHOICE, ["干性", "油性", "混合性", "敏感性", "中性"]),
    ("favourite_category", "偏好品类", FieldType.TEXT, []),
]
AREA_CODES = (
    "310104",
    "310115",
    "330106",
    "320106",
    "110105",
    "110108",
    "120101",
    "370202",
    "440106",
    "440305",
    "350203",
    "430102",
)
STREETS = ("中山路", "人民路", "解放路", "建设路", "和平路", "新华路", "长江路", "黄河路", "南京路", "淮海路")


def phone_for(index: int) -> str:
    """A valid, unique mainland mobile number for demo member `index` (a bijection on 0..10^8-1)."""
    prefix = MOBILE_PREFIXES[index % len(MOBILE_PREFIXES)]
    return f"{prefix}{(index * 7919 + 12345678) % 100_000_000:08d}"


def ensure_tags_and_fields(merchant):
    tags = []
    for name, color in TAGS:
        tag, _ = Tag.objects.get_or_create(merchant=merchant, name=name, defaults={"color": color})
        tags.append(tag)
    for position, (key, label, field_type, choices) in enumerate(CUSTOM_FIELDS):
        CustomField.objects.get_or_create(
            merchant=merchant,
            key=key,
            defaults={"label": label, "field_type": field_type, "choices": choices, "position": position},
        )
    return tags


def demo_member_rows(count, *, stores, owners_by_store, tags, start_index=0, seed=20261125):
    """Yield `count` cleaned member rows, deterministic for a given seed."""
    rng = random.Random(seed + start_index)  # noqa: S311 - seeded sample data, not a secret
    now = timezone.now()
    today = timezone.localdate()
    sources = [Source.STORE] * 6 + [Source.CAMPAIGN] * 2 + [Source.REFERRAL, Source.ONLINE]
    for i in range(start_index, start_index + count):
        female = rng.random() < 0.55
        chars = FEMALE_CHARS if female else MALE_CHARS
        given = rng.choice(chars) + (rng.choice(chars) if rng.random() < 0.7 else "")
        name = rng.choice(SURNAMES) + given
        birthday = today - datetime.timedelta(days=rng.randint(18 * 365, 70 * 365))
        store = rng.choice(stores)
        owners = owners_by_store.get(store.pk) or [None]
        row = {
            "name": name,
            "phone": phone_for(i),
            "gender": Gender.FEMALE if female else Gender.MALE,
            "birthday": birthday,
            "home_store": store,
            "owner": rng.choice(owners),
            "source": rng.choice(sources),
            "marketing_consent": rng.random() < 0.62,
            "address": f"{store.name[:2]}市{rng.choice(STREETS)}{rng.randint(1, 999)}号",
            "created_at": now - datetime.timedelta(days=rng.randint(0, 730), seconds=rng.randint(0, 86399)),
            "tag_ids": [t.pk for t in rng.sample(tags, k=rng.choice((0, 1, 1, 2, 3)))],
            "custom_fields": {"skin_type": rng.choice(CUSTOM_FIELDS[1][3])}
            if female and rng.random() < 0.4
            else {},
        }
        if row["source"] == Source.CAMPAIGN:
            row["source_detail"] = rng.choice(["春节储值节", "会员日", "618 大促", "双十一"])
        if rng.random() < 0.15:
            first17 = f"{rng.choice(AREA_CODES)}{birthday:%Y%m%d}{rng.randint(0, 999):03d}"
            row["id_number"] = first17 + id_number_check_digit(first17)
        yield row


def seed_members(
    merchant, stores, owners_by_store, count, *, progress=None, batch=10_000, start_index=0, commit=True
):
    """Insert `count` demo members through the members service in batches; returns how many were made.

    Each batch is its own transaction when `commit` is true, so a long seed shows steady progress, keeps
    the SQLite WAL small and, if stopped, leaves whole batches that the next run tops up.
    """
    tags = ensure_tags_and_fields(merchant)
    made = 0
    rows = demo_member_rows(
        count, stores=stores, owners_by_store=owners_by_store, tags=tags, start_index=start_index
    )
    while made < count:
        chunk = [next(rows) for _ in range(min(batch, count - made))]
        if commit:
            with transaction.atomic():
                services.insert_members(None, merchant, chunk, batch_size=batch)
        else:
            services.insert_members(None, merchant, chunk, batch_size=batch)
        made += len(chunk)
        if progress is not None:
            progress(made, count)
    return made


# ---- loading a million: the member tables' indexes are built once, after the rows -------------------

MEMBER_TABLES = ("members_member", "members_member_tags", "members_consentrecord")


BIG_LOAD = 100_000


def secondary_indexes():
    """(name, CREATE statement) of the non-unique indexes on the member tables."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"  # noqa: S608 - names from the models, values bound
                f" AND tbl_name IN ({', '.join(['%s'] * len(MEMBER_TABLES))})",
                list(MEMBER_TABLES),
            )
        elif connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = ANY(%s)",
                [list(MEMBER_TABLES)],
            )
        else:
            return []
        return [(name, sql) for name, sql in cursor.fetchall() if not sql.upper().startswith("CREATE UNIQUE")]


@contextmanager
def bulk_load(out):
    """Inside the caller's transaction: drop the member tables' non-unique indexes, build them again after.

    Unique indexes stay, so duplicates are still refused while loading. SQLite also gets a 1 GiB page cache
    for the load; PostgreSQL more memory for building the indexes.
    """
    indexes = secondary_indexes()
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA cache_size")
            cache_size = cursor.fetchone()[0]
            cursor.execute("PRAGMA cache_size=-1048576")
        for name, _sql in indexes:
            cursor.execute(f"DROP INDEX {qn(name)}")
    try:
        yield
        started = time.monotonic()
        out.write(f"building {len(indexes)} indexes ...")
        out.flush()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Django's foreign keys are DEFERRABLE INITIALLY DEFERRED: check the loaded rows now,
                # since PostgreSQL builds no index on a table with checks still pending.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for _name, sql in indexes:
                cursor.execute(sql)
        out.write(f"indexes built in {time.monotonic() - started:.1f} s")
    finally:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size={int(cache_size)}")


def analyze_tables():
    """Fresh planner statistics after a big load, so searches pick their indexes at once."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE " + ", ".join(MEMBER_TABLES))
        elif connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=0")  # exact: sampled statistics misjudge the store index
            for table in MEMBER_TABLES:
                cursor.execute(f"ANALYZE {table}")
