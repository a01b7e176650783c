"""`make run` loads the demo: it must load on any day, with dates relative to that day (item 10)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from patients.models import Patient, Registration
from treatment.models import AdverseEvent, BlinatumomabCycle

pytestmark = pytest.mark.django_db


def test_the_demo_loads_relative_to_today_without_stale_flags():
    call_command("load_demo", stdout=StringIO())
    today = timezone.localdate()
    dates = list(Registration.objects.values_list("registration_date", flat=True))
    assert Patient.objects.count() == len(dates) == 20
    assert all(today - timedelta(days=365 * 6) <= d <= today - timedelta(days=150) for d in dates)
    assert BlinatumomabCycle.objects.exists()
    assert not BlinatumomabCycle.objects.filter(end_date__gte=today).exists()  # treatment lies in the past
    serious = AdverseEvent.objects.filter(serious="Y")
    assert serious.exists() and not serious.filter(entered_late=True).exists()  # transcribed, not "years late"
    call_command("load_demo", stdout=StringIO())  # loading again adds nothing
    assert Patient.objects.count() == 20
