"""Request guards that run before any view."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _


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
