# Stand-in for MinIO (no image registry here): moto's S3 server. Its recorder
# appends every request to /data (the minio-data volume) and the entrypoint
# replays it on start, so objects outlive `down`/`up` like MinIO's do and
# `down -v` forgets them.
FROM python:3.11-slim
RUN pip install --no-cache-dir "moto[s3,server]==5.2.5" \
 && useradd --uid 10002 --create-home --shell /usr/sbin/nologin moto \
 && mkdir /data && chown moto /data
COPY moto-entrypoint.py /usr/local/bin/
WORKDIR /data
USER moto
ENV MOTO_ENABLE_RECORDING=1 MOTO_RECORDER_FILEPATH=/data/moto-recording.jsonl
EXPOSE 9000
ENTRYPOINT ["python", "/usr/local/bin/moto-entrypoint.py"]
CMD ["9000"]
