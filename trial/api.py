"""The generic REST API: one endpoint per CRF under /api/v1/forms/<form>/, built from the models.

Reads are site-scoped through trial.access; writes go through trial.crf.save_crf / change_status.
A concrete CRF needs no API code; an app registers a viewset only where creation differs
(e.g. registration creates the patient).
"""

import copy

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, models, transaction
from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from trial import access
from trial.audit import history_entries
from trial.crf import (
    MISSING_REASON_MAX,
    REASON_MAX,
    TRANSITIONS,
    Crf,
    CrfLocked,
    CrfQuerySet,
    MissingCode,
    StaleEdit,
    change_status,
    crf_models,
    locked_record,
    save_crf,
)
from trial.patients import log_access, log_list_access, patient_model


class VisiblePatientField(serializers.SlugRelatedField):
    """A patient given by subject ID, chosen only among the patients the user may see."""

    def __init__(self, **kwargs) -> None:
        super().__init__(slug_field="subject_id", **kwargs)

    def get_queryset(self):
        return patient_model().objects.visible_to(self.context["request"].user)


class MissingEntrySerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=MissingCode.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=MISSING_REASON_MAX, default="")


class CrfSerializer(serializers.ModelSerializer):
    """Base of every CRF serializer: adds the reason for change, the version and `complete`."""

    patient = VisiblePatientField()
    site = serializers.SlugRelatedField(slug_field="code", read_only=True)
    version = serializers.IntegerField(
        required=False, min_value=1,
        help_text="Read: the current version. Write: the version you edited (required on update; "
                  "a stale version is refused with 409).")
    reason = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=REASON_MAX,
                                   help_text="Reason for change; required once the form has left draft.")
    # An instruction for this save, not an answer about the patient: it has no default. Not sent (or false), the
    # save leaves the status as it is: a draft stays a draft, a complete form stays complete (never demoted).
    complete = serializers.BooleanField(write_only=True, required=False,
                                        help_text="Send true to mark the form complete with this save (completing "
                                                  "asks for every required item). Left out or false, the status "
                                                  "stays as it is: a draft saves whatever was sent, and a complete "
                                                  "form is never turned back into a draft.")
    visit = serializers.CharField(read_only=True, help_text="The visit this record belongs to (e.g. SCR, C1, "
                                                            "C1-IT), assigned from the study schedule.")
    missing = serializers.DictField(
        child=MissingEntrySerializer(), required=False,
        help_text="Items explicitly coded missing: {\"field\": {\"code\": \"not_done\" | \"unknown\" | "
                  "\"not_applicable\", \"reason\": \"...\"}}. Sent, it replaces the record's codes.")

    class Meta:
        model: type[Crf]
        base_fields = ["id", "patient", "site", "visit", "status", "version", "created_at", "updated_at", "missing"]
        read_only_fields = ["status", "created_at", "updated_at"]
        # Uniqueness is the model's (trial.crf validates its constraints with the form): DRF's own validators would
        # make a constraint's fields required and so refuse a draft that has not named them yet.
        validators: list = []

    def get_fields(self):
        # Built from the model once per serializer class and language, then copied (as DRF copies declared
        # fields): building them again on every request costs more than the rest of the serializer's work. Per
        # language, because DRF formats a field's range and length messages once, when first shown.
        cache = type(self).__dict__.get("_built_fields")
        if cache is None:
            cache = {}
            type(self)._built_fields = cache
        language = get_language()
        built = cache.get(language)
        if built is None:
            built = cache[language] = super().get_fields()
        fields = {name: _fresh(field) for name, field in built.items()}
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["patient"].read_only = True  # a form never moves to another patient
        return fields

    def validate(self, attrs):
        if self.instance is not None and "version" not in attrs:
            raise serializers.ValidationError({"version": _("Send the version you edited.")})
        return attrs

    def crf_fields(self) -> dict[str, object]:
        entry = set(self.Meta.model.entry_fields())
        return {k: v for k, v in self.validated_data.items() if k in entry}


def _fresh(field: serializers.Field) -> serializers.Field:
    """A copy of an unbound template field for one serializer instance. A plain field is copied shallowly (its
    options are never changed once built; binding sets only its name and parent); a field holding other fields
    (a nested serializer, a list or dict of them) is copied deeply, as DRF does, so that they bind to it."""
    if isinstance(field, serializers.BaseSerializer | serializers.ListField | serializers.DictField):
        return copy.deepcopy(field)
    return copy.copy(field)


def serializer_for(model: type[Crf], base: type[CrfSerializer] = CrfSerializer) -> type[CrfSerializer]:
    derived = model.derived_fields()
    meta = type("Meta", (base.Meta,), {
        "model": model,
        "fields": [*base.Meta.base_fields, *model.entry_fields(), *derived, "reason", "complete"],
        "read_only_fields": [*base.Meta.read_only_fields, *derived],
        "ref_name": model.__name__,
        "extra_kwargs": _draft_kwargs(model),
    })
    return type(f"{model.__name__}Serializer", (base,), {"Meta": meta, "__module__": model.__module__})


def _draft_kwargs(model: type[Crf]) -> dict[str, dict]:
    """A draft saves whatever was sent: no entry field is required here; completing checks them (trial.crf)."""
    found = {}
    for field in model._meta.concrete_fields:
        if field.name in model.derived_fields() and isinstance(field, models.CharField) and field.choices:
            found[field.name] = {"allow_blank": True}  # not computable yet from a draft's inputs
        if field.name not in model.entry_fields():
            continue
        if isinstance(field, models.CharField | models.TextField):
            found[field.name] = {"required": False, "allow_blank": True}
        elif not isinstance(field, models.BooleanField):
            found[field.name] = {"required": False, "allow_null": True}
    return found


class CrfFilter(filters.FilterSet):
    patient = filters.CharFilter(field_name="patient__subject_id", label="Subject ID")
    site = filters.CharFilter(field_name="site__code", label="Site code")
    status = filters.CharFilter(field_name="status")


class TransitionRequest(serializers.Serializer):
    transition = serializers.ChoiceField(choices=list(TRANSITIONS))
    version = serializers.IntegerField(min_value=1, help_text="The version you looked at.")
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=REASON_MAX,
                                   help_text="Required to unlock.")


AuditEntrySerializer = inline_serializer("AuditEntry", {
    "version": serializers.IntegerField(allow_null=True), "when": serializers.DateTimeField(),
    "user": serializers.CharField(), "kind": serializers.CharField(), "status": serializers.CharField(),
    "reason": serializers.CharField(),
    "changes": serializers.ListField(child=serializers.DictField()),
}, many=True)


class CrfViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                 mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Case report form records: list, read, create and correct with a reason. Never deleted (no DELETE)."""

    model: type[Crf]
    filterset_class = CrfFilter

    def get_queryset(self) -> CrfQuerySet:
        return (self.model.objects.visible_to(self.request.user)
                .select_related("patient", "site").order_by("pk"))

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        crf = self.get_object()
        log_access(request.user, crf.patient, request.path)
        return Response(self.get_serializer(crf).data)

    def list(self, request: Request, *args, **kwargs) -> Response:
        log_list_access(request)
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer: CrfSerializer) -> None:
        patient = serializer.validated_data["patient"]
        serializer.instance = save_crf(self.model(patient=patient), user=self.request.user,
                                       data=serializer.crf_fields(),
                                       complete=serializer.validated_data.get("complete") is True,
                                       missing=serializer.validated_data.get("missing"))

    def filter_queryset(self, queryset):
        # The list's filters (?patient=, ?status=...) mean nothing to one record addressed by its id.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def update(self, request: Request, *args, **kwargs) -> Response:
        """Correct a record: read once, under the patient's lock, in the transaction that writes it."""
        with transaction.atomic():
            try:
                crf = locked_record(self.model, self.kwargs["pk"], user=request.user)
            except (self.model.DoesNotExist, ValueError, TypeError, DjangoValidationError) as absent:
                raise Http404 from absent  # another site's record answers exactly like one that does not exist
            self.check_object_permissions(request, crf)
            serializer = self.get_serializer(crf, data=request.data, partial=kwargs.get("partial", False))
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            serializer.instance = save_crf(crf, user=request.user, data=serializer.crf_fields(),
                                           reason=data.get("reason", ""), expected_version=data.get("version"),
                                           complete=data.get("complete") is True, missing=data.get("missing"),
                                           locked=True, savepoint=False)
        return Response(serializer.data)

    @extend_schema(responses=AuditEntrySerializer)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request: Request, pk=None, **kwargs) -> Response:
        """The audit trail of this record: who, when (UTC), what changed from → to, and why."""
        crf = self.get_object()
        log_access(request.user, crf.patient, request.path)
        return Response([e.as_dict() for e in history_entries(crf)])

    @extend_schema(request=TransitionRequest, responses={200: OpenApiResponse(description="the form, moved")})
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk=None, **kwargs) -> Response:
        """Mark complete, source-verify, lock or unlock (each allowed to the roles in trial.access)."""
        crf = self.get_object()
        step = TransitionRequest(data=request.data)
        step.is_valid(raise_exception=True)
        change_status(crf, user=request.user, transition=step.validated_data["transition"],
                      reason=step.validated_data["reason"], expected_version=step.validated_data["version"])
        return Response(self.get_serializer(crf).data)


_VIEWSETS: dict[type[Crf], type[CrfViewSet]] = {}


def register_viewset(model: type[Crf]):
    """Decorator for an app's api.py: use this viewset for `model` instead of the generic one."""

    def decorate(viewset: type[CrfViewSet]) -> type[CrfViewSet]:
        viewset.model = model
        _VIEWSETS[model] = viewset
        return viewset

    return decorate


def viewset_for(model: type[Crf]) -> type[CrfViewSet]:
    if model in _VIEWSETS:
        return _VIEWSETS[model]
    return type(f"{model.__name__}ViewSet", (CrfViewSet,), {
        "model": model, "serializer_class": serializer_for(model), "__module__": model.__module__,
        "__doc__": f"{model._meta.verbose_name}: list, read, create and correct (never delete).",
    })


_EXTRA_ROUTES: list[tuple[str, type[viewsets.ViewSetMixin], str]] = []


def register_route(prefix: str, viewset: type[viewsets.ViewSetMixin], basename: str) -> None:
    """For an app's api.py: publish a non-CRF endpoint (e.g. the patient list) under /api/v1/."""
    if all(existing[0] != prefix for existing in _EXTRA_ROUTES):
        _EXTRA_ROUTES.append((prefix, viewset, basename))


def api_routes() -> list[tuple[str, type[viewsets.ViewSetMixin], str]]:
    crf = [(f"forms/{m.crf_slug()}", viewset_for(m), f"crf-{m.crf_slug()}") for m in crf_models()]
    return [*_EXTRA_ROUTES, *crf]


def exception_handler(exc, context):
    """StaleEdit → 409 with the newer data, CrfLocked → 403, model validation → 400 per field, and a value the
    database cannot hold (e.g. a NUL character in a lookup, which PostgreSQL refuses) → 400, not a 500."""
    if isinstance(exc, StaleEdit):
        view = context["view"]
        current = view.get_serializer(exc.current).data
        return Response({"detail": _("%(who)s changed this form on %(when)s, after the version you edited (it is now "
                                     "version %(v)s). Their change was kept; reload and apply yours again.") % {
                                         "who": exc.by or _("Someone"), "v": exc.current.version,
                                         "when": exc.at.isoformat() if exc.at else "—"},
                         "current": current}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, CrfLocked):
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": _("The request body is larger than the %(mb)s MB allowed.") % {
            "mb": f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1_000_000:g}"}}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DataError):
        return Response({"detail": _("The request contains a value that cannot be stored (for example a NUL "
                                     "character).")}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        body = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


__all__ = ["CrfSerializer", "CrfViewSet", "access", "api_routes", "register_route", "register_viewset",
           "serializer_for"]
