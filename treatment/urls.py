from django.urls import path

from treatment import views

urlpatterns = [
    path("ctcae-terms/suggestions/", views.ctcae_suggestions, name="ctcae-suggestions"),
    path("ctcae-terms/pick/", views.ctcae_pick, name="ctcae-pick"),
]
