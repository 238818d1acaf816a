from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project package as an app with no models: it holds the commands that wire every app together.

    `seed-demo`, `jobs`, `serve` and `bench` call into every app, so they live above the apps (a command
    module has to live in an installed app; this is the project's own).
    """

    name = "onecard"
    label = "onecard"
    verbose_name = "OneCard"
