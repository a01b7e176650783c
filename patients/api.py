"""Patients over the API: a read-only list of subjects, and registration that creates one."""

from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from patients.enrollment import EnrollmentState, screening_log
from patients.models import Patient, Registration
from patients.services import register_patient
from sites.models import Site
from trial import access
from trial.access import Action
from trial.api import CrfSerializer, CrfViewSet, register_route, register_viewset, serializer_for
from trial.patients import log_access, log_list_access


class PatientSerializer(serializers.ModelSerializer):
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    initials = serializers.CharField(source="registration.initials", read_only=True, default="")
    sex = serializers.CharField(source="registration.sex", read_only=True, default="")
    age_years = serializers.IntegerField(source="registration.age_years", read_only=True, default=None)
    registration_date = serializers.DateField(source="registration.registration_date", read_only=True,
                                              default=None)

    class Meta:
        model = Patient
        fields = ["subject_id", "site", "initials", "sex", "age_years", "registration_date", "created_at"]


class PatientFilter(filters.FilterSet):
    site = filters.CharFilter(field_name="site__code", label="Site code")

    class Meta:
        model = Patient
        fields = ["site"]


class PatientViewSet(viewsets.ReadOnlyModelViewSet):
    """Subjects the user may see. Created through the registration endpoint, never deleted."""

    serializer_class = PatientSerializer
    lookup_field = "subject_id"
    filterset_class = PatientFilter

    def get_queryset(self):
        return (Patient.objects.visible_to(self.request.user)
                .select_related("site", "registration").order_by("subject_id"))

    def retrieve(self, request, *args, **kwargs):
        patient = self.get_object()
        log_access(request.user, patient, request.path)
        return Response(self.get_serializer(patient).data)

    def list(self, request, *args, **kwargs):
        log_list_access(request)
        return super().list(request, *args, **kwargs)


class RegistrationSiteField(serializers.SlugRelatedField):
    def __init__(self, **kwargs) -> None:
        super().__init__(slug_field="code", **kwargs)

    def get_queryset(self):
        return access.sites_where(self.context["request"].user, Action.REGISTER_PATIENT)


class RegistrationCreateSerializer(serializer_for(Registration)):
    """Registering creates the patient: the site is given, the subject ID is generated."""

    patient = serializers.SlugRelatedField(slug_field="subject_id", read_only=True)
    site = RegistrationSiteField(required=False, help_text="Site code; may be left out when you register at "
                                                           "one site only.")
    # An attestation only the user can give: no default; not sent, nothing is confirmed.
    confirm_not_duplicate = serializers.BooleanField(
        write_only=True, required=False,
        help_text="Send true after checking that a patient reported as a possible duplicate (same site, date of "
                  "birth, sex and initials) is a different child.")

    class Meta(serializer_for(Registration).Meta):
        ref_name = "RegistrationCreate"
        fields = [*serializer_for(Registration).Meta.fields, "confirm_not_duplicate"]

    def validate(self, attrs):
        if "site" not in attrs:
            site = access.only_site_where(self.context["request"].user, Action.REGISTER_PATIENT)
            if site is None:
                raise serializers.ValidationError({"site": _("Give the site code.")})
            attrs["site"] = site
        return attrs


@register_viewset(Registration)
class RegistrationViewSet(CrfViewSet):
    """Registration: creating one registers a new patient and returns the generated subject ID."""

    serializer_class = serializer_for(Registration)

    def get_serializer_class(self) -> type[CrfSerializer]:
        return RegistrationCreateSerializer if self.action == "create" else self.serializer_class

    def perform_create(self, serializer: CrfSerializer) -> None:
        site: Site = serializer.validated_data["site"]
        serializer.instance = register_patient(
            user=self.request.user, site=site, data=serializer.crf_fields(),
            complete=serializer.validated_data.get("complete") is True,
            confirm_not_duplicate=serializer.validated_data.get("confirm_not_duplicate") is True)


register_route("patients", PatientViewSet, "patient")


class ScreeningLogRowSerializer(serializers.Serializer):
    subject_id = serializers.CharField(source="patient.subject_id")
    site = serializers.CharField(source="patient.site.code")
    state = serializers.ChoiceField(choices=EnrollmentState.choices)
    registration_date = serializers.DateField(source="registration.registration_date", default=None, allow_null=True)
    consent_date = serializers.DateField(source="consent.consent_date", default=None, allow_null=True)
    withdrawal_date = serializers.DateField(source="consent.withdrawal_date", default=None, allow_null=True)
    eligibility_review_date = serializers.DateField(source="eligibility.assessment_date", default=None,
                                                    allow_null=True)
    failed_criteria = serializers.SerializerMethodField(help_text="Codes of the criteria not met (screen failures).")

    def get_failed_criteria(self, row) -> list[str]:
        eligibility = row.eligibility
        return [c for c in eligibility.failed_criteria.split(",") if c] if eligibility is not None else []


class ScreeningLogViewSet(viewsets.ViewSet):
    """The screening log: one row per registered patient of the user's sites, with the enrollment state."""

    serializer_class = ScreeningLogRowSerializer

    @extend_schema(responses=ScreeningLogRowSerializer(many=True),
                   parameters=[OpenApiParameter("site", str, description="Site code, e.g. MX01")])
    def list(self, request, format=None):  # noqa: A002 - DRF passes the format suffix under this name
        log_list_access(request)
        patients = Patient.objects.visible_to(request.user)
        if request.query_params.get("site"):
            patients = patients.filter(site__code=request.query_params["site"])
        _, rows = screening_log(patients)
        return Response(ScreeningLogRowSerializer(rows, many=True).data)


register_route("screening-log", ScreeningLogViewSet, "screening-log")
