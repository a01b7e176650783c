from django.urls import path

from trial.quality import dashboard_view, views

app_name = "quality"

urlpatterns = [
    path("", dashboard_view.dashboard, name="dashboard"),
    path("queries/", views.query_list, name="queries"),
    path("queries/close/", views.bulk_close, name="bulk-close"),
    path("queries/new/", views.query_new, name="query-new"),
    path("queries/<int:pk>/", views.query_detail, name="query"),
    path("runs/", views.runs, name="runs"),
    path("inbox/", views.inbox, name="inbox"),
]
