"""The query workflow and data-quality runs through the API: the same steps, checks and audit as the pages."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from trial import access
from trial.access import Action
from trial.patients import log_access, log_list_access, patient_model
from trial.quality.models import QualityRun, Query, QueryEvent, RunStatus
from trial.quality.runs import start_run
from trial.quality.views import filtered_queries
from trial.quality.workflow import TEXT_LIMIT, open_query, take_step


class QueryEventSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="by.get_username", default=None, allow_null=True, read_only=True,
                               help_text="null: the data-quality engine")

    class Meta:
        model = QueryEvent
        fields = ["action", "by", "at", "text"]


class QuerySerializer(serializers.ModelSerializer):
    subject_id = serializers.CharField(source="patient.subject_id", read_only=True)
    site = serializers.CharField(source="site.code", read_only=True)
    opened_by = serializers.CharField(source="opened_by.get_username", default=None, allow_null=True, read_only=True,
                                      help_text="null: opened by its rule")
    closed_by = serializers.CharField(source="closed_by.get_username", default=None, allow_null=True, read_only=True)
    assigned_to = serializers.CharField(source="assigned_to.get_username", default=None, allow_null=True,
                                        read_only=True)
    text = serializers.CharField(read_only=True, help_text="In the request's language (es-MX or en).")

    class Meta:
        model = Query
        fields = ["id", "subject_id", "site", "form", "record_id", "field", "visit", "rule", "severity", "status",
                  "text", "text_es", "text_en", "opened_by", "opened_at", "assigned_to", "answered_at",
                  "closed_at", "closed_by"]
        read_only_fields = fields


class QueryDetailSerializer(QuerySerializer):
    events = QueryEventSerializer(many=True, read_only=True)

    class Meta(QuerySerializer.Meta):
        fields = [*QuerySerializer.Meta.fields, "events"]
        read_only_fields = fields


class OpenQueryRequest(serializers.Serializer):
    subject_id = serializers.CharField(max_length=40)
    form = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                 help_text='"app.Model" label of the form; empty: a subject-level datum.')
    record_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    field = serializers.CharField(max_length=64, required=False, allow_blank=True)
    text = serializers.CharField(max_length=TEXT_LIMIT)


class StepRequest(serializers.Serializer):
    text = serializers.CharField(max_length=TEXT_LIMIT, required=False, allow_blank=True, default="")


class QualityRunSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.code", default=None, allow_null=True, read_only=True)
    requested_by = serializers.CharField(source="requested_by.get_username", default=None, allow_null=True,
                                         read_only=True)
    progress = serializers.IntegerField(read_only=True, help_text="Percent of the patients checked.")

    class Meta:
        model = QualityRun
        fields = ["id", "scope", "site", "requested_by", "status", "created_at", "started_at", "finished_at",
                  "patients_total", "patients_done", "progress", "findings", "opened", "closed", "error"]
        read_only_fields = fields


class StartRunRequest(serializers.Serializer):
    site = serializers.CharField(max_length=8, required=False, allow_blank=True,
                                 help_text="Site code; empty: the whole study (a study-wide role only).")


_FILTERS = [OpenApiParameter(name, str, description=text) for name, text in (
    ("status", "open (= not closed), answered or closed"), ("site", "site id"), ("age", "0-7, 8-30 or 31+ days"),
    ("rule", 'rule code, or "manual"'), ("form", '"app.Model" label'), ("assignee", "user id"),
    ("subject", "subject ID"))]


class QueryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Data queries: list (filtered), read with the thread, open, answer, close and re-open. Never deleted."""

    serializer_class = QuerySerializer

    def get_queryset(self):
        queries, _chosen = filtered_queries(self.request.user, self.request.query_params if self.action == "list"
                                            else {})
        return queries

    def get_serializer_class(self):
        return QueryDetailSerializer if self.action != "list" else QuerySerializer

    @extend_schema(parameters=_FILTERS)
    def list(self, request: Request, *args, **kwargs) -> Response:
        log_list_access(request)
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        query = self.get_object()
        log_access(request.user, query.patient, request.path)
        return Response(QueryDetailSerializer(query).data)

    @extend_schema(request=OpenQueryRequest, responses={201: QueryDetailSerializer})
    def create(self, request: Request) -> Response:
        """Open a query on a field of a record, a whole record, or the patient (monitors and data managers)."""
        given = OpenQueryRequest(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        patient = patient_model().objects.visible_to(request.user).filter(subject_id=data["subject_id"]).first()
        if patient is None:
            raise serializers.ValidationError({"subject_id": [_("No patient %(subject)s that you may see.") % {
                "subject": data["subject_id"]}]})
        if not access.can(request.user, Action.RAISE_QUERY, site=patient.site_id):
            raise PermissionDenied
        with transaction.atomic():
            query = open_query(request.user, patient=patient, text=data["text"], form=data.get("form", ""),
                               record_id=data.get("record_id"), field=data.get("field", ""))
        return Response(QueryDetailSerializer(query).data, status=status.HTTP_201_CREATED)

    def _step(self, request: Request, name: str) -> Response:
        query = self.get_object()
        given = StepRequest(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            query = take_step(request.user, query, name, text=given.validated_data["text"])
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.message_dict) from None
        return Response(QueryDetailSerializer(query).data)

    @extend_schema(request=StepRequest, responses=QueryDetailSerializer)
    @action(detail=True, methods=["post"])
    def answer(self, request: Request, pk=None, **kwargs) -> Response:
        """The site's answer (coordinators and investigators); a correction goes through the form's save."""
        return self._step(request, "answer")

    @extend_schema(request=StepRequest, responses=QueryDetailSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk=None, **kwargs) -> Response:
        """Close (monitors and data managers)."""
        return self._step(request, "close")

    @extend_schema(request=StepRequest, responses=QueryDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request: Request, pk=None, **kwargs) -> Response:
        """Re-open with the reason (monitors and data managers)."""
        return self._step(request, "reopen")


class QualityRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Data-quality runs: start one (study or site) and follow its progress and result."""

    serializer_class = QualityRunSerializer

    def get_queryset(self):
        from trial.quality.views import _runs_visible

        return QualityRun.objects.filter(_runs_visible(self.request.user)).select_related("site", "requested_by")

    @extend_schema(request=StartRunRequest, responses={202: QualityRunSerializer})
    def create(self, request: Request) -> Response:
        given = StartRunRequest(data=request.data)
        given.is_valid(raise_exception=True)
        code = given.validated_data.get("site", "")
        if code:
            site = access.sites_where(request.user, Action.RAISE_QUERY).filter(code=code).first()
            if site is None:
                if access.sites_where(request.user, Action.VIEW).filter(code=code).exists():
                    raise PermissionDenied
                raise Http404
        elif access.can_study_wide(request.user, Action.RAISE_QUERY):
            site = None
        else:
            raise PermissionDenied
        run = start_run(request.user, site=site)  # queued on commit (run in-process without a broker)
        run.refresh_from_db()
        code = status.HTTP_201_CREATED if run.status == RunStatus.DONE else status.HTTP_202_ACCEPTED
        return Response(QualityRunSerializer(run).data, status=code)

