"""The AppConfig base of the apps that hang receivers and page sections on lower apps (their `hooks`)."""

from importlib import import_module

from django.apps import AppConfig


class HooksAppConfig(AppConfig):
    """Runs the app's `hooks.connect()` once the app registry is ready.

    Django's rule: a module that imports models is imported only then, so `hooks` is not imported at the
    top of apps.py. An apps.py imports this module rather than the class: Django takes the one AppConfig
    class an apps.py holds as the app's configuration.
    """

    def ready(self):
        import_module(f"{self.name}.hooks").connect()
