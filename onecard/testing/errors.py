"""Refusals in tests: call a service, expect a BusinessError with a given code, get the error back."""

import pytest

from onecard.core.errors import BusinessError


def refused(code, call, *args, **kwargs):
    """call(*args, **kwargs) must raise a BusinessError whose code is `code`; returns that error."""
    with pytest.raises(BusinessError) as error:
        call(*args, **kwargs)
    assert error.value.code == code, error.value.code
    return error.value
