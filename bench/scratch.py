"""What every benchmark starts from: a scratch test database with one site and its coordinators, dropped after."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import setup_test_environment

from sites.models import Membership, Role, Site


@contextmanager
def scratch_study(coordinators: int = 1) -> Iterator[tuple[Site, list]]:
    """Create the test database (DATABASE_URL's engine), site MX09 and `coordinators` users; drop it all after.

    On a database server the scratch database is named after this process (test_<name>_bench_<pid>), so a
    benchmark never clobbers the test suite's database, nor another benchmark's, running at the same time.
    """
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    if connection.vendor != "sqlite":  # SQLite's test database is in memory, private to this process
        test = connection.settings_dict.setdefault("TEST", {})
        test["NAME"] = f"{test.get('NAME') or 'test_' + connection.settings_dict['NAME']}_bench_{os.getpid()}"
    old_name = connection.settings_dict["NAME"]
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    except BaseException:  # e.g. a failed migration: drop the scratch database if it was created
        connection.close()
        if connection.settings_dict["NAME"] != old_name:  # never the database the settings name
            connection.creation.destroy_test_db(old_name, verbosity=0)
        raise
    try:
        site = Site.objects.create(code="MX09", name="Bench", city="CDMX")
        users = []
        for i in range(coordinators):
            user = get_user_model().objects.create_user(f"bench{i}", password="bench-password-123")
            Membership.objects.create(user=user, site=site, role=Role.COORDINATOR)
            users.append(user)
        yield site, users
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
