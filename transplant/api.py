"""A patient's daily counts over the API as one series: read them with the derived engraftment, or save many days
in one request (one transaction, one audit record per changed day, engraftment derived once)."""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.response import Response

from patients.models.codes import YesNo
from transplant.models import DailyCount, TransplantProcedure
from transplant.series import SERIES, CountEntry, SeriesInvalid, on_day, save_counts
from trial.api import register_route
from trial.crf import REASON_MAX
from trial.patients import visible_patient_or_404

SUBJECT = OpenApiParameter("subject_id", str, OpenApiParameter.PATH, description="Subject ID: site code and number")


class CountDaySerializer(serializers.Serializer):
    """One day: give its date, or its day after transplant (day 0 = graft infusion)."""

    count_date = serializers.DateField(required=False, allow_null=True)
    day = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=3650,
                                   help_text="Day after transplant; used when count_date is not given.")
    anc_per_ul = serializers.IntegerField(required=False, allow_null=True,
                                          help_text="Absolute neutrophil count per µL (500/µL = 0.5 ×10⁹/L).")
    platelets_10e9_l = serializers.IntegerField(required=False, allow_null=True,
                                                help_text="Platelets in ×10⁹/L (231,000/µL is 231).")
    platelet_transfusion = serializers.ChoiceField(choices=YesNo.choices, required=False, allow_blank=True)
    red_cell_transfusion = serializers.ChoiceField(choices=YesNo.choices, required=False, allow_blank=True)
    version = serializers.IntegerField(required=False, allow_null=True,
                                       help_text="For a day already recorded: the version you read (a day changed "
                                                 "since by someone else is refused with 409).")

    def validate(self, attrs):
        if attrs.get("count_date") is None and attrs.get("day") is None:
            raise serializers.ValidationError("Give count_date or day.")
        return attrs


class CountSeriesRequest(serializers.Serializer):
    counts = CountDaySerializer(many=True, allow_empty=False)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=REASON_MAX,
                                   help_text="Required when a day already complete is changed.")


class CountRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = DailyCount
        fields = ["id", "count_date", "day_post_transplant", "anc_per_ul", "platelets_10e9_l", "platelet_transfusion",
                  "red_cell_transfusion", "status", "version", "visit"]


class EngraftmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = TransplantProcedure
        fields = ["transplant_date", "anc_nadir_day", "neutrophil_engraftment_day", "platelet_engraftment_day",
                  "primary_graft_failure", "counts_last_day", "counts_missing_days", "rules_version"]


class CountSeriesSerializer(serializers.Serializer):
    subject_id = serializers.CharField()
    counts = CountRowSerializer(many=True)
    engraftment = EngraftmentSerializer(allow_null=True, help_text="Derived from the whole series (D7).")


class DailyCountSeriesViewSet(viewsets.ViewSet):
    """A patient's daily counts as one series, with the engraftment derived from it (D7)."""

    lookup_field = "subject_id"
    serializer_class = CountSeriesSerializer

    def _body(self, request, patient) -> dict:
        counts = DailyCount.objects.visible_to(request.user).filter(patient=patient).order_by("count_date")
        transplant = TransplantProcedure.objects.visible_to(request.user).filter(patient=patient).first()
        return {"subject_id": patient.subject_id, "counts": CountRowSerializer(counts, many=True).data,
                "engraftment": EngraftmentSerializer(transplant).data if transplant else None}

    @extend_schema(responses=CountSeriesSerializer, parameters=[SUBJECT])
    def retrieve(self, request, subject_id=None, format=None):  # noqa: A002 - DRF passes the format suffix
        patient = visible_patient_or_404(request.user, subject_id, path=request.path)
        return Response(self._body(request, patient))

    @extend_schema(request=CountSeriesRequest, parameters=[SUBJECT], responses={
        200: CountSeriesSerializer, 400: OpenApiResponse(description="nothing saved: errors per day and field"),
        409: OpenApiResponse(description="nothing saved: a day was changed by someone else since it was read")})
    def update(self, request, subject_id=None, format=None):  # noqa: A002
        """Save many days at once: new days are added, recorded days corrected (with a reason once complete). A day
        with every value is complete, with some values a draft. All or nothing."""
        patient = visible_patient_or_404(request.user, subject_id, path=request.path)
        body = CountSeriesRequest(data=request.data)
        body.is_valid(raise_exception=True)
        transplant = TransplantProcedure.objects.filter(patient=patient).first()
        day0 = transplant.transplant_date if transplant else None
        entries = []
        for row in body.validated_data["counts"]:
            day = row.get("count_date")
            if day is None:
                if day0 is None:
                    return Response({"counts": [_("Enter the transplant procedure with its date (day 0) first.")]},
                                    status=status.HTTP_400_BAD_REQUEST)
                day = on_day(day0, row["day"])
            values = {name: row[name] for name in ("anc_per_ul", "platelets_10e9_l", "platelet_transfusion",
                                                   "red_cell_transfusion") if name in row}
            entries.append(CountEntry(day, values, row.get("version")))
        try:
            save_counts(patient, entries, user=request.user, reason=body.validated_data.get("reason", ""))
        except SeriesInvalid as invalid:
            errors = {("series" if key == SERIES else key.isoformat()): value for key, value in invalid.errors.items()}
            return Response({"counts": errors}, status=status.HTTP_409_CONFLICT if invalid.stale
                            else status.HTTP_400_BAD_REQUEST)
        return Response(self._body(request, patient))


register_route("daily-counts", DailyCountSeriesViewSet, "daily-count-series")
