"""The till's 换人 button: where it sends the browser after the log-out."""

from django import template
from django.urls import reverse
from django.utils.http import urlencode

from onecard.org import till_login

register = template.Library()


@register.simple_tag
def switch_cashier_url(store, back_to):
    """The quick log-in page of this till's store (signed), coming back to `back_to`; without a store, the
    password log-in form."""
    if store is None:
        return f"{reverse('login')}?{urlencode({'next': back_to})}"
    return f"{reverse('till_login')}?{urlencode({'till': till_login.signed_store(store), 'next': back_to})}"
