from csp.decorators import csp_update
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from trial import cutoff_views, views, visit_views
from trial.api import api_routes
from trial.api_schema import EnglishSchemaView
from trial.quality import api as quality_api
from trial.tokens import TokenLoginView, TokenLogoutAllView, TokenLogoutView

router = DefaultRouter()
router.register("schedule", visit_views.PatientScheduleViewSet, basename="patient-schedule")
router.register("overdue-visits", visit_views.OverdueVisitViewSet, basename="overdue-visits")
router.register("queries", quality_api.QueryViewSet, basename="query")
router.register("quality-runs", quality_api.QualityRunViewSet, basename="quality-run")
for prefix, viewset, basename in api_routes():
    router.register(prefix, viewset, basename=basename)

casebook = ([
    path("<str:subject_id>/forms/<slug:form>/", views.crf_list, name="form-list"),
    path("<str:subject_id>/forms/<slug:form>/new/", views.crf_new, name="form-new"),
    path("<str:subject_id>/forms/<slug:form>/preview/", views.crf_preview, name="form-preview"),
    path("<str:subject_id>/forms/<slug:form>/<int:pk>/", views.crf_detail, name="form"),
    path("<str:subject_id>/forms/<slug:form>/<int:pk>/status/", views.crf_transition, name="form-status"),
], "casebook")

urlpatterns = [
    path("quality/", include("trial.quality.urls")),
    path("visits/overdue/", visit_views.overdue_list, name="overdue-visits"),
    path("study/cutoff/", cutoff_views.data_cutoff, name="data-cutoff"),
    path("", RedirectView.as_view(pattern_name="patients:list", permanent=False)),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("patients/", include(casebook)),
    path("patients/", include("patients.urls")),
    path("treatment/", include("treatment.urls")),
    path("patients/", include("transplant.urls")),
    path("api/v1/", include(router.urls)),
    path("api/v1/data-cutoff/", cutoff_views.DataCutoffView.as_view(), name="api-data-cutoff"),
    path("api/v1/auth/token/", TokenLoginView.as_view(), name="api-token"),
    path("api/v1/auth/logout/", TokenLogoutView.as_view(), name="api-logout"),
    path("api/v1/auth/logout-all/", TokenLogoutAllView.as_view(), name="api-logout-all"),
    path("api/schema/", EnglishSchemaView.as_view(), name="api-schema"),
    # Swagger UI sets style attributes at run time; its script is served as a file (no inline script).
    path("api/docs/", csp_update({"style-src": ["'unsafe-inline'"]})(
        SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", RedirectView.as_view(url="/static/trial/favicon.svg", permanent=True)),
]

handler404 = "trial.views.not_found"
