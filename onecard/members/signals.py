"""Signals other apps listen to, so that members need not know about cards, orders or tickets."""

from django.dispatch import Signal

# Sent inside the merge transaction with survivor=, merged=, actor=; receivers move their own rows.
member_merged = Signal()

# Sent inside the registration transaction (members.services.create_member) with member=, actor=;
# not for imported members, who joined before, in another system. Receivers give joining benefits.
member_joined = Signal()
