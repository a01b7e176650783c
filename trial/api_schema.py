"""The OpenAPI schema: served in English, and its post-processing (the error answers every operation can give,
documented once)."""

from django.utils import translation
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.views import SpectacularAPIView


class StudyTokenScheme(OpenApiAuthenticationExtension):
    """The API token (trial.access.StudyTokenAuthentication): `Authorization: Token <token>`."""

    target_class = "trial.access.StudyTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Token")  # noqa: S106 - a header prefix


class EnglishSchemaView(SpectacularAPIView):
    """The schema is written in English: its choices' labels are given in English too, whatever the request's
    language, so that it never mixes two languages."""

    def dispatch(self, request, *args, **kwargs):
        with translation.override("en"):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()  # the labels are lazy: render them in English, here
            return response


ERROR_SCHEMA = {
    "type": "object",
    "description": "Either {\"detail\": message} or {field name: [messages]}; a 409 adds the current record "
                   "under \"current\".",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
_COMMON = {
    "400": "Invalid input: each field's messages, or a message under \"detail\" / \"non_field_errors\".",
    "401": "Not authenticated (send \"Authorization: Token <key>\").",
    "403": "Your role does not allow this here, or the form is locked.",
    "404": "Not found, or not visible to you (another site's records answer exactly like missing ones).",
}
_MEDIA = "The body is not JSON, form data or multipart as declared (or cannot be parsed as such)."
_CONFLICT = "Someone saved this record after the version you sent; the body holds the current record."


def document_error_responses(result, generator, request, public):
    """drf-spectacular hook: add 400/401/403/404 to every operation, 415 to every write, 409 to every
    change of an existing record."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            errors = dict(_COMMON)
            if method in ("post", "put", "patch"):
                errors["415"] = _MEDIA
            if method in ("put", "patch") or path.endswith("/transition/"):
                errors["409"] = _CONFLICT
            for code, description in errors.items():
                responses.setdefault(code, {"description": description, "content": content})
    return result
