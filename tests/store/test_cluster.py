"""Redis Cluster: a real three-master cluster on loopback, running the same code as one server.

The prefix ``{redbeat}:`` carries a hash tag, so every key beat writes in one command, pipeline
transaction or script (entry hash + schedule, lock + handover, the slot claims) is in one slot.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from celery.schedules import schedule
from django.core import checks
from django.test import override_settings
from redis.cluster import RedisCluster

from django_redbeat.beat.lock import BeatLock
from django_redbeat.checks import check_cluster_prefix
from django_redbeat.exceptions import ConfigurationError
from django_redbeat.models import PeriodicTask
from django_redbeat.schedulers import RedBeatScheduler, RedBeatSchedulerEntry
from django_redbeat.store.connection import get_redis
from django_redbeat.store.permissions import ACL_COMMANDS, CLUSTER_ACL_COMMANDS
from django_redbeat.store.plain_client import CLUSTER_TRANSACTIONS_SINCE
from django_redbeat.store.redbeat_config import RedBeatConfig
from django_redbeat.sync import bridge, drift
from tests.servers import ClusterDeployment
from tests.test_admin import ADD_URL, form_data

PREFIX = "{redbeat}:"

#: A cluster client is refused on redis-py before 6.1 (no transactions on a cluster pipeline).
needs_cluster_transactions = pytest.mark.skipif(
    tuple(redis.VERSION[:2]) < CLUSTER_TRANSACTIONS_SINCE,
    reason=f"redis-py {redis.__version__} has no cluster transactions: the cluster is refused",
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    deployment = ClusterDeployment(tmp_path_factory.mktemp("cluster")).start()
    yield deployment
    deployment.stop()


@pytest.fixture
def cluster_client(cluster):
    client = RedisCluster(host="127.0.0.1", port=cluster.nodes[0].port, decode_responses=True)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def app(cluster, cluster_client, celery_app):
    celery_app.conf.update(redbeat_redis_url=cluster.url, redbeat_key_prefix=PREFIX)
    return celery_app


def every(seconds):
    return schedule(timedelta(seconds=seconds))


def add_entry(app, name, seconds=1):
    return RedBeatSchedulerEntry(
        name, "tests.add", every(seconds), args=[name], options={"queue": "q"}, app=app
    ).save()


def stored_keys(client):
    """Every key under the prefix, on whichever node (SCAN visits them all; KEYS asks one)."""
    return sorted(client.scan_iter(match=f"{PREFIX}*"))


def slots_of(client, keys):
    return {client.keyslot(key) for key in keys}


@needs_cluster_transactions
def test_the_cluster_client_is_built_from_the_url_and_all_beat_keys_share_a_slot(
    app, cluster_client
):
    for name in ("alpha", "beta", "gamma", "with {braces}"):
        add_entry(app, name)

    assert isinstance(get_redis(app).wrapped_connection, RedisCluster)
    keys = stored_keys(cluster_client)
    assert len(keys) == 5  # four hashes and the schedule
    assert len(slots_of(cluster_client, keys)) == 1


@pytest.mark.parametrize(
    "options", [{"cluster": True}, {"cluster": True, "startup_nodes": "second-node"}]
)
@needs_cluster_transactions
def test_a_cluster_option_with_a_redis_url_works_too(cluster, app, options):
    if options.get("startup_nodes"):  # celery-redbeat's form: dicts
        nodes = [{"host": "127.0.0.1", "port": cluster.nodes[1].port}]
        options = {**options, "startup_nodes": nodes}
    app.conf.update(
        redbeat_redis_url=f"redis://127.0.0.1:{cluster.nodes[2].port}/0",
        redbeat_redis_options=options,
    )

    add_entry(app, "alpha")

    assert RedBeatSchedulerEntry.from_key(PREFIX + "alpha", app=app).args == ["alpha"]


@needs_cluster_transactions
def test_the_default_prefix_on_a_cluster_carries_a_hash_tag(cluster, celery_app):
    celery_app.conf.update(redbeat_redis_url=cluster.url)

    assert RedBeatConfig(celery_app).key_prefix == "{redbeat}:"
    get_redis(celery_app).ping()  # not refused


def test_a_prefix_without_a_hash_tag_is_refused_at_start(cluster, celery_app):
    celery_app.conf.update(redbeat_redis_url=cluster.url, redbeat_key_prefix="redbeat:")

    with pytest.raises(ConfigurationError, match=r"no hash tag.*CROSSSLOT.*'\{redbeat\}:'"):
        get_redis(celery_app)
    with pytest.raises(ConfigurationError, match="no hash tag"):
        RedBeatScheduler(app=celery_app).tick()


@pytest.mark.parametrize("prefix", ["redbeat:", "{}:redbeat:", "redbeat}{:", "{redbeat:"])
def test_the_system_check_warns_of_a_prefix_without_a_usable_hash_tag(prefix):
    settings = {"REDBEAT_REDIS_URL": "redis-cluster://h:7000", "REDBEAT_KEY_PREFIX": prefix}
    with override_settings(**settings):
        [warning] = check_cluster_prefix()
    assert warning.id == "django_redbeat.W001"
    assert isinstance(warning, checks.Warning)


@needs_cluster_transactions
@pytest.mark.django_db(transaction=True)  # a starting beat rebuilds the database's entries
def test_the_scheduler_ticks_claims_and_sends_on_the_cluster(app, clock, broker, cluster_client):
    app.conf.beat_schedule = {"static": {"task": "tests.add", "schedule": 1.0, "args": ["static"],
                                         "options": {"queue": "q"}}}  # fmt: skip
    for name in ("alpha", "beta"):
        add_entry(app, name)
    beat = RedBeatScheduler(app=app)
    try:
        for _ in range(3):
            clock.advance(seconds=1)
            beat.tick()
    finally:
        beat.close()

    sent = sorted(message.payload[0][0] for message in broker.messages("q"))
    # a static entry counts its first interval from its install; the others were due at once
    assert sent == sorted(["alpha", "beta"] * 3 + ["static"] * 2)
    entry = RedBeatSchedulerEntry.from_key(PREFIX + "alpha", app=app)
    assert entry.total_run_count == 3
    assert cluster_client.smembers(PREFIX + ":statics") == {"static"}
    assert cluster_client.get(PREFIX + ":lock") is None  # released at close


@needs_cluster_transactions
def test_the_lock_is_held_by_one_beat_and_handed_over_on_release(app, cluster_client):
    client = get_redis(app)
    first = BeatLock(client, PREFIX + ":lock", timeout=10)
    second = BeatLock(client, PREFIX + ":lock", timeout=10)

    assert first.acquire() and not second.acquire()
    assert first.renew() and cluster_client.pttl(PREFIX + ":lock") > 9000
    first.release()
    assert second.wait_for_release(1)  # the handover list, a BLPOP on the cluster
    assert second.acquire()


@needs_cluster_transactions
def test_an_entry_is_saved_rescheduled_and_deleted(app, cluster_client, clock):
    entry = add_entry(app, "alpha", seconds=60)
    entry.reschedule(clock() + timedelta(seconds=30))
    assert cluster_client.zscore(PREFIX + ":schedule", entry.key) == entry.score

    entry.delete()

    assert stored_keys(cluster_client) == []


@needs_cluster_transactions
@pytest.mark.django_db(transaction=True)
def test_sync_drift_repair_and_the_admin_run_on_the_cluster(
    app, cluster_client, django_celery_app, admin_client
):
    PeriodicTask.objects.create(
        name="job", task="tests.add", kind="interval", every=5, period="minutes"
    )  # synced after commit
    response = admin_client.post(ADD_URL, form_data(name="from-admin"), follow=True)
    assert response.status_code == 200
    assert cluster_client.hget(PREFIX + "from-admin", bridge.MANAGED_FIELD) == bridge.MANAGED_BY

    cluster_client.delete(PREFIX + "job")  # drift: Redis lost an entry
    found = drift.find(app)
    assert found.missing == ["job"]
    drift.repair(found, app)
    assert cluster_client.hget(PREFIX + "job", "definition")

    PeriodicTask.objects.filter(name="job").delete()
    assert bridge.remove_names(["job", "from-admin"], app) == []
    assert stored_keys(cluster_client) == []


@needs_cluster_transactions
def test_a_cluster_transaction_is_replayed_whole_after_a_connection_error(app, cluster_client):
    pipe = get_redis(app).pipeline()  # a MULTI on the cluster, as on one server
    pipe.incr(PREFIX + "n").incr(PREFIX + "n")
    real_execute, calls = pipe._pipeline.execute, []

    def lost_once(raise_on_error=True):
        calls.append(raise_on_error)
        if len(calls) == 1:
            pipe._pipeline.reset()  # what a failed execute leaves behind
            raise redis.exceptions.ConnectionError("connection lost")
        return real_execute(raise_on_error=raise_on_error)

    pipe._pipeline.execute = lost_once

    assert pipe.execute() == [1, 2]
    assert len(calls) == 2 and cluster_client.get(PREFIX + "n") == "2"


@pytest.mark.skipif(
    tuple(redis.VERSION[:2]) >= CLUSTER_TRANSACTIONS_SINCE, reason="this redis-py can"
)
def test_a_cluster_on_a_redis_py_without_cluster_transactions_is_refused(cluster, app):
    with pytest.raises(ConfigurationError, match=r"needs redis-py 6\.1 or newer.*redis>=6\.1"):
        get_redis(app)


@needs_cluster_transactions
def test_the_cluster_option_on_a_single_server_is_a_configuration_error(celery_app, redis_url):
    celery_app.conf.update(
        redbeat_redis_url=redis_url,
        redbeat_key_prefix=PREFIX,
        redbeat_redis_options={"cluster": True},
    )

    with pytest.raises(ConfigurationError, match="is one server, not a cluster"):
        get_redis(celery_app)


def test_a_plain_url_to_a_cluster_node_is_a_configuration_error(cluster, celery_app):
    celery_app.conf.update(redbeat_key_prefix=PREFIX)
    for node in cluster.nodes:  # the node that owns the prefix's slot would answer: not the rest
        celery_app.conf.redbeat_redis_url = f"redis://127.0.0.1:{node.port}/0"
        celery_app.redbeat_conf = celery_app.redbeat_redis = None
        try:
            get_redis(celery_app)
        except ConfigurationError as refused:
            assert "redis-cluster://" in str(refused)
            return
    pytest.fail("no node redirected the access check")


@needs_cluster_transactions
def test_an_acl_user_with_the_readme_rule_runs_beat_on_the_cluster(cluster, app, clock, broker):
    rule = ["reset", "on", ">pw", "~{redbeat}:*", "resetchannels", "&{redbeat}:*",
            *ACL_COMMANDS.split(), *CLUSTER_ACL_COMMANDS.split()]  # fmt: skip
    for node in cluster.nodes:  # ACL users are per node, not spread by the cluster
        node.client().execute_command("ACL", "SETUSER", "beat", *rule)
    app.conf.redbeat_redis_options = {"username": "beat", "password": "pw"}
    add_entry(app, "alpha")
    beat = RedBeatScheduler(app=app)
    try:
        clock.advance(seconds=1)
        beat.tick()
    finally:
        beat.close()

    assert [message.payload[0] for message in broker.messages("q")] == [["alpha"]]


@needs_cluster_transactions
def test_a_cluster_user_that_may_not_read_the_slots_is_told_what_to_grant(cluster, app):
    for node in cluster.nodes:
        node.client().execute_command("ACL", "SETUSER", "noslots", "reset", "on", ">pw", "+@all",
                                      "-cluster", "~*", "&*")  # fmt: skip
    app.conf.redbeat_redis_options = {"username": "noslots", "password": "pw"}

    with pytest.raises(ConfigurationError, match=r"grant \+cluster\|slots \+command"):
        get_redis(app)
