from django.urls import path

from transplant import journey, views

app_name = "transplant"

urlpatterns = [
    path("<str:subject_id>/daily-counts/", views.daily_counts, name="daily-counts"),
    path("<str:subject_id>/journey/", journey.journey, name="journey"),
]
