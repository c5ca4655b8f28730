FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends libsndfile1 git && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV PYTHONUNBUFFERED=1
# Workers, timeout and request limits: gunicorn.conf.py (GUNICORN_* variables override them).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "emolab.wsgi:application"]
