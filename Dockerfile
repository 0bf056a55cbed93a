# fusion-search worker / dashboard image. GPU build by default (TensorFlow with CUDA wheels);
# for CPU-only hosts: docker build --build-arg TF_PACKAGE=tensorflow-cpu==2.21.0 .
FROM python:3.11-slim

ARG TF_PACKAGE="tensorflow[and-cuda]==2.21.0"
ENV PYTHONUNBUFFERED=1 KERAS_BACKEND=tensorflow KERAS_HOME=/home/fusion/.keras

WORKDIR /app
COPY requirements.lock ./
# The lock pins tensorflow-cpu for the test machines; the image takes TF_PACKAGE instead.
RUN grep -viE '^tensorflow(_|-)cpu==' requirements.lock > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt "${TF_PACKAGE}"

COPY pyproject.toml README.md ./
COPY search ./search
COPY spaces ./spaces
COPY storage ./storage
RUN pip install --no-cache-dir --no-deps .

RUN useradd --create-home fusion
USER fusion
WORKDIR /home/fusion
ENTRYPOINT ["fusion-search"]
CMD ["--help"]
