"""The admin's status page: redbeat_status's report, linked from the periodic task list."""

from __future__ import annotations

import pytest
import redis
from django.contrib.auth.models import User
from django.urls import reverse

from tests.django_fixtures import make_task
from tests.management.test_redbeat_status import add

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("django_celery_app"),
]

STATUS_URL = reverse("admin:django_redbeat_periodictask_status")


def test_the_list_links_to_the_status_page(admin_client):
    content = admin_client.get(reverse("admin:django_redbeat_periodictask_changelist")).content
    assert f'href="{STATUS_URL}"' in content.decode()


def test_the_page_shows_the_lock_counts_next_entries_and_risks(
    admin_client, celery_app, redis_client
):
    row = make_task(name="soon")
    add(celery_app, redis_client, "overdue", -120, task="tests.late")
    add(celery_app, redis_client, "soon", 4)
    redis_client.set("redbeat::lock", "beat-host:4242:0123456789ab", px=25_000)
    redis_client.config_set("maxmemory", "100mb")
    redis_client.config_set("maxmemory-policy", "allkeys-lru")
    try:
        content = admin_client.get(STATUS_URL).content.decode()
    finally:
        redis_client.config_set("maxmemory-policy", "noeviction")
        redis_client.config_set("maxmemory", "0")
    assert "redbeat::lock held by beat-host (pid 4242), expires in 2" in content
    assert "2 (2 scheduled, 0 disabled or finished, 0 static); 1 due now, 1 overdue" in content
    assert "maxmemory-policy allkeys-lru" in content
    assert "maxmemory-policy is allkeys-lru: when Redis reaches maxmemory" in content
    assert '<tr class="redbeat-overdue">' in content
    assert "2 min ago (overdue)" in content
    assert "tests.late" in content
    change_url = reverse("admin:django_redbeat_periodictask_change", args=[row.pk])
    assert f'<a href="{change_url}">soon</a>' in content
    assert "in 4 s" in content


def test_the_page_never_shows_the_redis_password(admin_client, own_redis, django_celery_app):
    password = "s3cret-Passw0rd"
    redis.Redis.from_url(own_redis.url).config_set("requirepass", password)
    django_celery_app.conf.redbeat_redis_url = own_redis.url.replace("//", f"//:{password}@")
    content = admin_client.get(STATUS_URL).content.decode()
    assert "is free: no beat is sending" in content  # Redis was read, with the password
    assert password not in content
    assert "redis://:**@127.0.0.1" in content


def test_redis_down_is_said_on_the_page(admin_client, own_redis):
    own_redis.stop()
    response = admin_client.get(STATUS_URL)
    assert response.status_code == 200
    assert "Redis cannot be read" in response.content.decode()


def test_staff_without_the_view_permission_is_refused(client):
    client.force_login(User.objects.create_user("staff", password="pw", is_staff=True))
    assert client.get(STATUS_URL).status_code == 403
    client.logout()
    assert client.get(STATUS_URL).status_code == 302  # to the login page
