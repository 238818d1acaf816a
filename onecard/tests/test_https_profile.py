"""ONECARD_HTTPS=1: the settings module itself, loaded in a fresh process, passes `onecard check --deploy`."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRONG_KEY = secrets.token_urlsafe(50)


def _onecard(tmp_path, *args, **env_vars):
    """`onecard ARGS` in a new interpreter with production settings (not the test settings) and `env_vars`."""
    # Nothing of the test run's own configuration (the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE).
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ONECARD_", "DJANGO_")) and key != "DATABASE_URL"
    }
    env.update(
        PYTHONPATH=str(ROOT),
        ONECARD_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="onecard.settings",
        **env_vars,
    )
    return subprocess.run(
        [sys.executable, "-m", "onecard.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_is_clean_under_the_https_profile(tmp_path):
    # given the HTTPS profile, debug off and a strong key from the environment
    # when the deploy check runs with warnings counted as failures
    done = _onecard(
        tmp_path,
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        ONECARD_HTTPS="1",
        ONECARD_DEBUG="0",
        ONECARD_SECRET_KEY=STRONG_KEY,
    )
    # then it finds nothing
    assert done.returncode == 0, done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_without_the_profile_the_deploy_check_names_what_https_would_turn_on(tmp_path):
    # given the same installation without ONECARD_HTTPS
    done = _onecard(tmp_path, "check", "--deploy", ONECARD_DEBUG="0", ONECARD_SECRET_KEY=STRONG_KEY)
    # then the check lists exactly the four settings the profile sets (so the first test measures it)
    warnings = sorted(re.findall(r"\((security\.W\d+)\)", done.stderr))
    assert warnings == ["security.W004", "security.W008", "security.W012", "security.W016"]


def test_the_profile_refuses_to_start_without_a_managed_secret_key(tmp_path):
    # given ONECARD_HTTPS=1 but no ONECARD_SECRET_KEY (a key file in var/ would differ per host)
    done = _onecard(tmp_path, "check", "--deploy", ONECARD_HTTPS="1")
    # then start-up stops with a sentence naming the variable
    assert done.returncode != 0
    assert "ONECARD_HTTPS=1 needs ONECARD_SECRET_KEY" in done.stderr
