from django.conf import settings

from trial import access


def study(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "STUDY_NAME": settings.STUDY_NAME,
        # Each language by its own name (Django's {% get_available_languages %} would translate them).
        "LANGUAGE_CHOICES": settings.LANGUAGES,
        "user_roles": list(access.role_labels(user)) if user is not None else [],
    }
