"""Demo catalogue for `onecard seed-demo`: about 300 products of a lifestyle retail chain in two levels.

The demo merchant (一卡通示范连锁, org/demo.py) sells what a city department-store chain sells: food,
beauty, home, fashion, digital, kids, a café counter, and a few in-store services. Categories go through
`services.create_category`; products are written the way the .xlsx import writes them (each row checked
by `services.check_product` and `check_member_prices`, written by `services.write_product`, one audit
row for the whole catalogue), which costs half of `create_product`'s per-product audit. Each product has
an EAN-13 barcode whose check digit is valid (GS1 prefix 69 = China); every fourth one has a member price
for every tier. Deterministic: the same seed gives the same catalogue.
"""

import random
from dataclasses import dataclass, field

from onecard.core import audit

from . import services
from .choices import ProductKind
from .models import Product

DEFAULT_SEED = 20261125
COMPANY_PREFIX = "6921168"  # 69 (China) + a 5-digit company number: 7 digits, then a 5-digit item number
MEMBER_PRICE_EVERY = 4  # every 4th product has a member price
MEMBER_PRICE_RATE = 90  # percent of the list price, rounded down to the jiao

# (code, name, [(sub code, sub name, unit, lowest yuan, highest yuan, items, variants)])
TREE = [
    (
        "FOOD",
        "食品饮料",
        [
            (
                "SNACK",
                "休闲零食",
                "袋",
                9,
                69,
                ["每日坚果", "牛肉干", "薯片", "海苔脆", "黑巧克力", "夹心饼干", "芒果干"],
                ["原味", "家庭装"],
            ),
            (
                "DRINK",
                "饮料冲调",
                "瓶",
                4,
                59,
                ["矿泉水", "气泡水", "乌龙茶", "鲜榨橙汁", "挂耳咖啡", "燕麦片", "蜂蜜柚子茶"],
                ["单瓶", "整箱"],
            ),
            (
                "DAIRY",
                "乳品烘焙",
                "盒",
                6,
                49,
                ["纯牛奶", "低脂酸奶", "奶酪棒", "全麦吐司", "牛角面包", "黄油曲奇", "希腊酸奶"],
                ["小份", "大份"],
            ),
            (
                "GROCERY",
                "粮油调味",
                "袋",
                12,
                129,
                ["五常大米", "花生油", "生抽酱油", "陈醋", "挂面", "东北小米", "橄榄油"],
                ["标准装", "礼盒装"],
            ),
        ],
    ),
    (
        "BEAUTY",
        "个护美妆",
        [
            (
                "SKIN",
                "护肤",
                "瓶",
                59,
                599,
                ["保湿精华", "修护面霜", "洁面乳", "爽肤水", "防晒乳", "眼霜", "面膜"],
                ["经典款", "升级款"],
            ),
            (
                "MAKEUP",
                "彩妆香水",
                "支",
                49,
                699,
                ["丝绒口红", "气垫粉底", "眼影盘", "睫毛膏", "淡香水", "腮红", "眉笔"],
                ["01号", "02号"],
            ),
            (
                "HAIR",
                "洗发护发",
                "瓶",
                29,
                139,
                ["控油洗发水", "柔顺护发素", "发膜", "沐浴露", "护手霜", "身体乳", "洗手液"],
                ["500ml", "750ml"],
            ),
        ],
    ),
    (
        "HOME",
        "家居生活",
        [
            (
                "TEXTILE",
                "家纺",
                "件",
                39,
                899,
                ["纯棉四件套", "羽绒被", "乳胶枕", "浴巾", "毛巾", "珊瑚绒毯", "夏凉被"],
                ["1.5米", "1.8米"],
            ),
            (
                "KITCHEN",
                "厨房用品",
                "件",
                19,
                399,
                ["不粘炒锅", "陶瓷餐具", "保温杯", "菜刀", "砧板", "玻璃保鲜盒", "汤锅"],
                ["标准款", "大号"],
            ),
            (
                "CLEAN",
                "清洁收纳",
                "件",
                9,
                129,
                ["洗衣凝珠", "收纳箱", "拖把", "垃圾袋", "衣架", "除螨喷雾", "环保购物袋"],
                ["单件", "组合装"],
            ),
        ],
    ),
    (
        "FASHION",
        "服饰鞋包",
        [
            (
                "WOMEN",
                "女装",
                "件",
                129,
                1299,
                ["羊毛大衣", "针织开衫", "连衣裙", "牛仔裤", "真丝衬衫", "羽绒服", "半身裙"],
                ["黑色", "米白"],
            ),
            (
                "MEN",
                "男装",
                "件",
                99,
                1199,
                ["商务衬衫", "休闲夹克", "羊绒衫", "直筒裤", "Polo衫", "羽绒服", "卫衣"],
                ["藏青", "灰色"],
            ),
            (
                "SHOES",
                "鞋靴",
                "双",
                199,
                999,
                ["运动跑鞋", "休闲板鞋", "短靴", "乐福鞋", "帆布鞋", "雪地靴", "凉鞋"],
                ["37码", "42码"],
            ),
            (
                "BAGS",
                "箱包配饰",
                "件",
                59,
                1599,
                ["双肩包", "手提包", "拉杆箱", "钱包", "围巾", "腰带", "太阳镜"],
                ["经典", "新款"],
            ),
        ],
    ),
    (
        "DIGITAL",
        "数码家电",
        [
            (
                "APPLIANCE",
                "小家电",
                "台",
                99,
                1999,
                ["电饭煲", "空气炸锅", "电热水壶", "吹风机", "破壁机", "扫地机器人", "电动牙刷"],
                ["标准版", "Pro版"],
            ),
            (
                "ACCESSORY",
                "数码配件",
                "个",
                29,
                699,
                ["蓝牙耳机", "充电宝", "数据线", "手机壳", "智能手环", "蓝牙音箱", "无线充电器"],
                ["白色", "黑色"],
            ),
        ],
    ),
    (
        "KIDS",
        "母婴玩具",
        [
            (
                "BABY",
                "母婴用品",
                "包",
                29,
                399,
                ["婴儿纸尿裤", "湿巾", "奶瓶", "婴儿洗护套装", "儿童餐具", "安抚巾", "婴儿推车"],
                ["S码", "M码"],
            ),
            (
                "TOY",
                "玩具",
                "套",
                39,
                599,
                ["积木", "拼图", "遥控车", "毛绒公仔", "绘本", "画笔套装", "益智棋"],
                ["基础款", "豪华款"],
            ),
        ],
    ),
    (
        "CAFE",
        "咖啡轻食",
        [
            (
                "COFFEE",
                "现磨咖啡",
                "杯",
                15,
                38,
                ["美式咖啡", "拿铁", "卡布奇诺", "摩卡", "燕麦拿铁", "冷萃咖啡", "热可可"],
                ["中杯", "大杯"],
            ),
            (
                "BAKERY",
                "轻食甜点",
                "份",
                12,
                48,
                ["芝士蛋糕", "三明治", "可颂", "沙拉", "提拉米苏", "蛋挞", "贝果"],
                ["单份", "双份"],
            ),
        ],
    ),
]
# In-store services (kind service, no barcode): name, list price yuan.
SERVICES = ("SERVICE", "服务", [
    ("CARE", "洗护服务", "次", [("擦鞋护理", 20), ("干洗大衣", 58), ("干洗西装", 45), ("改衣裤长", 25),
                              ("礼品包装", 15), ("皮具护理", 88), ("羽绒服清洗", 68), ("毛衣除球", 18)]),
])  # fmt: skip


@dataclass
class DemoCatalog:
    """What the seed made: products by SKU, categories by code (the promotions demo points at them)."""

    products: dict = field(default_factory=dict)  # sku → Product
    categories: dict = field(default_factory=dict)  # code → Category
    member_priced: int = 0

    def by_name(self, name):
        """The first product whose name starts with `name` ("电饭煲" → 电饭煲 标准版)."""
        return next(p for p in self.products.values() if p.name.startswith(name))

    def in_category(self, code):
        """The products of category `code` (a leaf), in SKU order."""
        category = self.categories[code]
        return [p for p in self.products.values() if p.category_id == category.pk]


def ean13(first12: str) -> str:
    """`first12` digits plus the EAN-13 check digit (weights 1, 3, 1, 3... from the left)."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("an EAN-13 body has 12 digits")
    total = sum(int(digit) * (3 if i % 2 else 1) for i, digit in enumerate(first12))
    return first12 + str((10 - total % 10) % 10)


def _price(rng, low, high) -> int:
    """A shelf price in fen between `low` and `high` yuan, ending in .90 or .00 as shops price."""
    yuan = rng.randint(low, high)
    return yuan * 100 if yuan >= 100 or rng.random() < 0.3 else yuan * 100 - 10


def seed_catalog(merchant, tiers, *, seed=DEFAULT_SEED) -> DemoCatalog:
    """Create the demo categories and products of `merchant`; `tiers` get the member prices."""
    rng = random.Random(seed)  # noqa: S311 - seeded sample data, not a secret
    result = DemoCatalog()
    serial = 0
    for order, (code, name, subs) in enumerate(TREE, start=1):
        top = services.create_category(None, merchant, name=name, code=code, sort_order=order * 10)
        result.categories[code] = top
        for sub_order, (sub_code, sub_name, unit, low, high, items, variants) in enumerate(subs, start=1):
            sub = services.create_category(
                None, merchant, name=sub_name, code=sub_code, parent=top, sort_order=sub_order * 10
            )
            result.categories[sub_code] = sub
            number = 0
            for item in items:
                for variant in variants:
                    number += 1
                    serial += 1
                    price = _price(rng, low, high)
                    prices = {}
                    if serial % MEMBER_PRICE_EVERY == 0:
                        member = price * MEMBER_PRICE_RATE // 100 // 10 * 10
                        prices = {tier: member for tier in tiers}
                        result.member_priced += 1
                    product = _add_product(
                        merchant,
                        prices,
                        sku=f"{sub_code}-{number:03d}",
                        barcode=ean13(f"{COMPANY_PREFIX}{serial:05d}"),
                        name=f"{item} {variant}",
                        category=sub,
                        unit=unit,
                        list_price=price,
                    )
                    result.products[product.sku] = product
    code, name, subs = SERVICES
    top = services.create_category(None, merchant, name=name, code=code, sort_order=(len(TREE) + 1) * 10)
    result.categories[code] = top
    for sub_code, sub_name, unit, items in subs:
        sub = services.create_category(None, merchant, name=sub_name, code=sub_code, parent=top)
        result.categories[sub_code] = sub
        for number, (item, yuan) in enumerate(items, start=1):
            product = _add_product(
                merchant,
                {},
                sku=f"{sub_code}-{number:03d}",
                name=item,
                category=sub,
                kind=ProductKind.SERVICE,
                unit=unit,
                list_price=yuan * 100,
            )
            result.products[product.sku] = product
    audit.record(
        None,
        "import",
        subject_type="catalog.product",
        subject_repr="demo catalogue (onecard seed-demo)",
        merchant=merchant,
        after={"created": len(result.products), "member_priced": result.member_priced},
    )
    return result


def _add_product(merchant, member_prices, **data):
    """One product, checked and written as the import does (services.check_product, write_product)."""
    fields = services.check_product(merchant, data)
    prices = services.check_member_prices(merchant, member_prices)
    return services.write_product(Product(merchant=merchant), fields, None, prices)
