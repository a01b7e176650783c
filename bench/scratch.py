"""What every benchmark starts from: a scratch test database with one site and its coordinators, dropped after."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import setup_test_environment

from sites.models import Membership, Role, Site


@contextmanager
def scratch_study(coordinators: int = 1) -> Iterator[tuple[Site, list]]:
    """Create the test database (DATABASE_URL's engine), site MX09 and `coordinators` users; drop it all after."""
    setup_test_environment()
    settings.ALLOWED_HOSTS = ["testserver"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
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
