"""The patient's treatment summary over the API: what the patient page shows, so that a client does not rebuild it."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from treatment.models import CtcaeTerm
from treatment.summary import treatment_summary
from trial.api import register_route
from trial.patients import visible_patient_or_404


class CrsEpisodeSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="The first day graded 1 or more.")
    end = serializers.DateField(allow_null=True, help_text="The first later day graded 0; null while it lasts (D10).")
    grade = serializers.IntegerField(help_text="The episode's worst daily grade (ASTCT).")


class CycleSummarySerializer(serializers.Serializer):
    cycle_number = serializers.IntegerField(source="cycle.cycle_number")
    start_date = serializers.DateField(source="cycle.start_date")
    end_date = serializers.DateField(source="cycle.end_date", allow_null=True)
    days_infused = serializers.IntegerField(source="cycle.days_infused", allow_null=True)
    bsa_m2 = serializers.FloatField(source="cycle.bsa_m2", allow_null=True, help_text="Unrounded (D11).")
    fixed_dose = serializers.BooleanField(source="cycle.fixed_dose", allow_null=True)
    planned_step_ug_day = serializers.FloatField(source="cycle.planned_step_ug_day", allow_null=True)
    planned_full_ug_day = serializers.FloatField(source="cycle.planned_full_ug_day", allow_null=True)
    planned_total_ug = serializers.FloatField(source="cycle.planned_total_ug", allow_null=True)
    prescribed_step_ug_day = serializers.DecimalField(source="cycle.prescribed_step_ug_day", max_digits=6,
                                                      decimal_places=2, allow_null=True)
    prescribed_full_ug_day = serializers.DecimalField(source="cycle.prescribed_full_ug_day", max_digits=6,
                                                      decimal_places=2, allow_null=True)
    dose_deviation = serializers.BooleanField(source="cycle.dose_deviation", allow_null=True)
    crs_episodes = CrsEpisodeSerializer(many=True)
    worst_crs = serializers.IntegerField(allow_null=True, help_text="Worst CRS episode of the cycle; null when no "
                                                                    "CRS day was assessed.")
    worst_icans = serializers.IntegerField(allow_null=True, help_text="After the start of treatment (baseline "
                                                                      "excluded).")
    baseline_icans = serializers.IntegerField(allow_null=True, help_text="The pre-treatment assessment's grade.")
    crs_not_evaluable = serializers.CharField(help_text="Why CRS could not be assessed (the patient died or left "
                                                        "before any assessment); empty otherwise.")
    severe_adverse_events = serializers.IntegerField(help_text="Adverse events of grade 3 or more.")
    response = serializers.CharField(source="response.response", allow_null=True, default=None)
    response_date = serializers.DateField(source="response.assessment_date", allow_null=True, default=None)
    response_not_assessable = serializers.CharField(help_text="Why there is no response assessment (died or left "
                                                              "before it); empty otherwise.")


class TreatmentSummarySerializer(serializers.Serializer):
    subject_id = serializers.CharField()
    cycles = CycleSummarySerializer(many=True)
    worst_crs = serializers.IntegerField(allow_null=True)
    worst_icans = serializers.IntegerField(allow_null=True, help_text="Baseline assessments excluded.")
    best_response = serializers.CharField(allow_null=True, help_text="CR > PR > NR over the cycles' responses; NR "
                                                                     "for a patient who died or left before any.")
    best_response_reason = serializers.CharField(help_text="Why the best response is NR without an assessment "
                                                           "(e.g. died before assessment); empty otherwise.")
    adverse_events = serializers.IntegerField()
    serious_adverse_events = serializers.IntegerField()


class TreatmentSummaryViewSet(viewsets.ViewSet):
    """A patient's treatment at a glance: per cycle the dose, CRS episodes, ICANS, serious toxicity and response,
    and overall worst CRS, worst ICANS and best response, as the patient page shows them."""

    lookup_field = "subject_id"
    serializer_class = TreatmentSummarySerializer

    @extend_schema(responses=TreatmentSummarySerializer, parameters=[
        OpenApiParameter("subject_id", str, OpenApiParameter.PATH, description="Subject ID: site code and number")])
    def retrieve(self, request, subject_id=None, format=None):  # noqa: A002 - DRF passes the format suffix
        patient = visible_patient_or_404(request.user, subject_id, path=request.path)
        summary = treatment_summary(patient, request.user)
        if summary is None:
            return Response({"subject_id": patient.subject_id, "cycles": [], "worst_crs": None, "worst_icans": None,
                             "best_response": None, "best_response_reason": "", "adverse_events": 0,
                             "serious_adverse_events": 0})
        summary.subject_id = patient.subject_id
        return Response(TreatmentSummarySerializer(summary).data)


register_route("treatment-summaries", TreatmentSummaryViewSet, "treatment-summary")


class CtcaeTermSerializer(serializers.ModelSerializer):
    grades = serializers.SerializerMethodField(help_text="The grades CTCAE v5.0 defines for this term.")

    class Meta:
        model = CtcaeTerm
        fields = ["meddra_code", "term", "soc", "grades", "grade_1", "grade_2", "grade_3", "grade_4", "grade_5",
                  "definition"]

    def get_grades(self, term: CtcaeTerm) -> list[int]:
        return term.grades()


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter(
    "search", str, description="Part of the term, of its organ class, or its MedDRA code")]))
class CtcaeTermViewSet(viewsets.ReadOnlyModelViewSet):
    """The 837 CTCAE v5.0 terms with their MedDRA codes (reference data, the same for every site).

    `?search=` matches part of the term, of its MedDRA system organ class or of its code (e.g. `neutrop`,
    `Blood`, `10016288`). An adverse event names its term by `meddra_code`."""

    serializer_class = CtcaeTermSerializer
    filter_backends: list = []
    lookup_field = "meddra_code"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return CtcaeTerm.search(self.request.query_params.get("search", ""))


register_route("ctcae-terms", CtcaeTermViewSet, "ctcae-term")
