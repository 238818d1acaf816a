"""Database constraints the models declare again and again, named once.

Like the link factories of core.fields, these return plain constraints that deconstruct exactly
like hand-written ones, so migrations see no difference.
"""

from django.db import models


def unique_per_merchant(field, name, **options):
    """`field` is unique among one merchant's rows: every merchant names and numbers its own."""
    return models.UniqueConstraint(fields=["merchant", field], name=name, **options)
