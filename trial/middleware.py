"""Request guards that run before any view."""

from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header


class RefuseNulCharacters:
    """A NUL character (0x00) in the path or query is refused with 400 before any query runs.

    PostgreSQL cannot store or compare text containing NUL, so such a lookup would otherwise end in a
    database error (a 500) instead of a plain "bad request". Form and JSON fields refuse NUL on their own.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        in_query = any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists())
        if "\x00" in request.path or in_query:
            return JsonResponse({"detail": _("The address contains a NUL character.")}, status=400)
        return self.get_response(request)


class NoStore:
    """Every answer of the application (pages, API, exports) is `Cache-Control: no-store`: patient data must not
    stay in a browser's or a proxy's cache after the user logs out. Static files are served before this runs
    (WhiteNoise) and keep their long cache lifetime."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Cache-Control" not in response:
            response["Cache-Control"] = NO_STORE
            response["Expires"] = "0"  # already expired, for HTTP/1.0 caches
        else:
            add_never_cache_headers(response)
        return response


NO_STORE = "max-age=0, no-cache, no-store, must-revalidate, private"


API_DEFAULT_LANGUAGE = "en"


class StudyLocaleMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware, except under /api/: there the language of a request is its Accept-Language
    header's (Spanish or English), else English — not the casebook's language cookie nor the site's default, so
    that one request gets one language and a client that asks for nothing gets the documented default. (The
    OpenAPI schema is written in English.)"""

    def process_request(self, request: HttpRequest) -> None:
        if not request.path.startswith("/api/"):
            super().process_request(request)
            return
        language = api_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
        translation.activate(language)
        request.LANGUAGE_CODE = language


def api_language(header: str) -> str:
    for code, _quality in parse_accept_lang_header(header):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return API_DEFAULT_LANGUAGE


JSON_CSP = "default-src 'none'; frame-ancestors 'none'"


class StudyCSPMiddleware(CSPMiddleware):
    """django-csp's policy on pages; a JSON answer gets the strictest constant policy instead (it loads nothing
    and is never framed), which also spares building the pages' policy on every API request."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if response.get("Content-Type", "").startswith("application/json"):
            response.setdefault("Content-Security-Policy", JSON_CSP)
            return response
        return super().process_response(request, response)
