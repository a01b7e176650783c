"""API tokens: issue one for a user name and password, revoke it, or revoke all of one's tokens.

Tokens are django-rest-knox's: only a hash is stored, each expires after SESSION_IDLE_MINUTES without use and
API_TOKEN_MAX_HOURS after it was issued (settings.REST_KNOX); trial.access.StudyTokenAuthentication reads them.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from knox.models import get_token_model
from knox.views import LoginView, LogoutAllView, LogoutView
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny

from trial.access import StudyTokenAuthentication


class TokenLoginView(LoginView):
    """POST user name and password → {"token": …, "expiry": …}. Send it as `Authorization: Token <token>`."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    serializer_class = AuthTokenSerializer

    @extend_schema(request=AuthTokenSerializer, responses=inline_serializer("IssuedToken", {
        "token": serializers.CharField(), "expiry": serializers.DateTimeField()}))
    def post(self, request, format=None):  # noqa: A002 - DRF passes the format suffix so
        credentials = AuthTokenSerializer(data=request.data, context={"request": request})
        credentials.is_valid(raise_exception=True)
        user = credentials.validated_data["user"]
        get_token_model().objects.filter(user=user, expiry__lt=timezone.now()).delete()  # expired: gone for good
        request.user = user
        return super().post(request, format=format)


REVOKED = extend_schema(request=None, responses={204: OpenApiResponse(description="Revoked.")})


class TokenLogoutView(LogoutView):
    """POST with the token → 204: that token no longer works."""

    authentication_classes = (StudyTokenAuthentication,)

    @REVOKED
    def post(self, request, format=None):  # noqa: A002
        return super().post(request, format=format)


class TokenLogoutAllView(LogoutAllView):
    """POST with a token → 204: none of the user's tokens works any longer."""

    authentication_classes = (StudyTokenAuthentication,)

    @REVOKED
    def post(self, request, format=None):  # noqa: A002
        return super().post(request, format=format)
