"""Load the demo study: 4 sites, one user per role per site, a data manager, 20 patients with their data.

Idempotent: running it again adds nothing that is already there. Demo passwords are for a local
demonstration only and are printed at the end.
"""

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from patients.models import Patient
from patients.services import register_patient
from sites.models import Membership, Role, Site
from trial.demo import demo_steps
from trial.quality.engine import execute
from trial.quality.hooks import checks_paused
from trial.quality.models import QualityRun, RunScope

DEMO_PASSWORD = "demo-edc-2026"
ADMIN_PASSWORD = "admin-edc-2026"
PATIENTS_PER_SITE = 5

SITES = [
    ("MX01", "Hospital Pediátrico Norte (demo)", "Ciudad de México"),
    ("MX02", "Hospital Pediátrico Centro (demo)", "Ciudad de México"),
    ("MX03", "Hospital Pediátrico Sur (demo)", "Ciudad de México"),
    ("MX04", "Hospital Pediátrico Querétaro (demo)", "Querétaro"),
]
SITE_ROLES = [Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR]
INITIAL_LETTERS = "ABCDEFGHIJLMNOPRSTVZ"


def demo_username(role: str, site_code: str | None) -> str:
    return f"{role.replace('_', '')}.{site_code.lower()}" if site_code else role.replace("_", "")


class Command(BaseCommand):
    help = "Create the demo study (sites, users, patients). Safe to run more than once."

    def handle(self, *args, **options) -> None:
        with checks_paused(), transaction.atomic():  # one data-quality run at the end, not one per save
            sites = [self._site(*row) for row in SITES]
            users = self._users(sites)
            created = self._patients(sites, users)
            coordinators = {site.pk: users[(Role.COORDINATOR, site.code)] for site in sites}
            patients = list(Patient.objects.filter(site__in=sites).select_related("registration")
                            .order_by("subject_id"))
            done = [f"{step(patients, coordinators)} newly {name}" for name, step in demo_steps()]
        checked = execute(QualityRun.objects.create(scope=RunScope.STUDY))  # shown on the data manager's runs page
        self.stdout.write(self.style.SUCCESS(f"Demo study ready: {len(sites)} sites, {Patient.objects.count()} "
                                             f"patients ({created} new, {', '.join(done)}); data-quality checks: "
                                             f"{checked.findings} findings, {checked.opened} queries opened."))
        self.stdout.write("Open http://127.0.0.1:8000/ and log in as one of:")
        for site in sites:
            names = ", ".join(demo_username(role, site.code) for role in SITE_ROLES)
            self.stdout.write(f"  {site.code} ({site.city}): {names}")
        self.stdout.write(f"  all sites: {demo_username(Role.DATA_MANAGER, None)}")
        self.stdout.write(f"  password for every demo user: {DEMO_PASSWORD}   (administration: admin / "
                          f"{ADMIN_PASSWORD} at /admin/)")

    def _site(self, code: str, name: str, city: str) -> Site:
        site, _ = Site.objects.get_or_create(code=code, defaults={"name": name, "city": city})
        return site

    def _user(self, username: str, **extra):
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=username, defaults=extra)
        if created:
            user.set_password(ADMIN_PASSWORD if user.is_superuser else DEMO_PASSWORD)
            user.save()
        return user

    def _users(self, sites: list[Site]) -> dict[tuple[str, str | None], object]:
        users = {}
        for site in sites:
            for role in SITE_ROLES:
                user = self._user(demo_username(role, site.code))
                Membership.objects.get_or_create(user=user, site=site, role=role)
                users[(role, site.code)] = user
        manager = self._user(demo_username(Role.DATA_MANAGER, None))
        Membership.objects.get_or_create(user=manager, site=None, role=Role.DATA_MANAGER)
        users[(Role.DATA_MANAGER, None)] = manager
        self._user("admin", is_staff=True, is_superuser=True)
        return users

    def _patients(self, sites: list[Site], users: dict) -> int:
        created = 0
        for index, site in enumerate(sites):
            rng = random.Random(1000 + index)  # the same demo patients on every machine
            coordinator = users[(Role.COORDINATOR, site.code)]
            for number in range(Patient.objects.filter(site=site).count(), PATIENTS_PER_SITE):
                # Relative to today, so that the demo's visits and flags read as they would in a running study:
                # registered between about 6 years and 5 months ago (treatment then lies wholly in the past).
                registered = timezone.localdate() - timedelta(days=rng.randint(150, 365 * 6))
                age_days = rng.randint(240, 18 * 365)
                register_patient(
                    user=coordinator, site=site, complete=number % 4 != 3,
                    data={
                        "initials": "".join(rng.choice(INITIAL_LETTERS) for _ in range(rng.choice((2, 3)))),
                        "sex": rng.choice(("F", "M")),
                        "date_of_birth": registered - timedelta(days=age_days),
                        "registration_date": registered,
                    },
                )
                created += 1
        return created
