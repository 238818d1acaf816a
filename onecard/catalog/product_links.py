"""Links that apps above the catalogue add to each product row (analytics: what it is bought with).

The catalogue owns the list; a higher app adds to it from its AppConfig.ready, so catalog never imports it.
"""

PRODUCT_LINKS = []


def add_product_link(label, url_name, permission):
    """Show a link to `url_name` (taking the product's id) on each product row for holders of `permission`; once."""
    if not any(link["url_name"] == url_name for link in PRODUCT_LINKS):
        PRODUCT_LINKS.append({"label": label, "url_name": url_name, "permission": permission})


def links_for(user) -> list[dict]:
    """The product links `user` may follow."""
    return [link for link in PRODUCT_LINKS if user.has_perm(link["permission"])]
