"""A scoring started by hand, run by a real Celery worker over Redis, on the test's PostgreSQL database.

Only on PostgreSQL: the worker is another process and must see the rows the test committed.
"""

import os
import subprocess
import sys
import time
import uuid

import pytest
import redis
from django.db import connection

from onecard.analytics import recompute
from onecard.analytics.models import MemberFacts
from onecard.celery import app as celery_app

REDIS = os.environ.get("ONECARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_answers() -> bool:
    try:
        return redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        return False


def _use_broker(**conf):
    """Point this process's Celery app at another broker: connections and producers an earlier test made
    for the old one are dropped, or a ping and a task would still go there."""
    celery_app.conf.update(**conf)
    celery_app.close()
    celery_app.amqp._producer_pool = None


def _worker_answers(queue) -> bool:
    """Whether the worker named after `queue` answers a ping over the broker."""
    return any(
        name.startswith(f"{queue}@") for answer in celery_app.control.ping(timeout=1) for name in answer
    )


@pytest.fixture
def worker(settings, tmp_path):
    """A Celery worker process on a queue of this test's own, with this process's database and a shared Redis cache."""
    if not _redis_answers():
        pytest.fail(f"Redis does not answer at {REDIS} (.ci/run starts it)")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "onecard.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": REDIS,
        "ONECARD_VAR_DIR": str(tmp_path),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "onecard",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS}
    }
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ONECARD_RUN_INLINE = False
    before = (
        celery_app.conf.broker_url,
        celery_app.conf.task_always_eager,
        celery_app.conf.task_default_queue,
    )
    _use_broker(broker_url=REDIS, task_always_eager=False, task_default_queue=queue)
    # A loaded machine may take a minute to start a worker: wait until it answers before sending it work.
    deadline = time.monotonic() + 180
    while not _worker_answers(queue):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the Celery worker did not start: {process.stdout.read().decode()[-2000:]}")
        time.sleep(1)
    yield process
    _use_broker(broker_url=before[0], task_always_eager=before[1], task_default_queue=before[2])
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.mark.postgres
def test_a_worker_scores_the_members_and_publishes_its_progress(
    transactional_db, chain, member_factory, worker
):
    """Given three members and a Celery worker, when HQ starts a scoring by hand,
    then the worker scores all three (prospects) and the progress it publishes says done with 3 members."""
    for _ in range(3):
        member_factory()

    recompute.start(chain.hq_admin, chain.merchant, "score")

    deadline = time.monotonic() + 120
    state = recompute.state_of(chain.merchant, "score")
    while state["phase"] in ("queued", "running") and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.5)
        state = recompute.state_of(chain.merchant, "score")
    assert state["phase"] == "done", (state, worker.poll())
    assert state["members"] == 3
    assert MemberFacts.objects.filter(merchant=chain.merchant, life_stage="prospect").count() == 3
