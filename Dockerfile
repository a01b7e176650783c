FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 STATIC_MANIFEST=1
WORKDIR /app
COPY pyproject.toml ./
RUN pip install --no-cache-dir --upgrade pip
COPY . .
RUN pip install --no-cache-dir . \
 && python manage.py compile_translations \
 && SECRET_KEY=build-only python manage.py collectstatic --noinput --verbosity 0
RUN useradd --system --home /app trial && chown -R trial /app/var
USER trial
EXPOSE 8000
CMD ["gunicorn", "trial.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
