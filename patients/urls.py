from django.urls import path

from patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("register/", views.patient_register, name="register"),
    path("screening-log/", views.screening_log_page, name="screening-log"),
    path("<str:subject_id>/", views.patient_detail, name="detail"),
]
