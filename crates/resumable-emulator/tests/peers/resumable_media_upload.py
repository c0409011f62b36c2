"""Uploads a file through the emulator's initiate endpoint with Google's
google-resumable-media (google.resumable_media.requests.ResumableUpload), one
chunk per request, checking the CRC32C the server answers; prints the object.

Usage: resumable_media_upload.py BASE_URL BUCKET OBJECT FILE CHUNK_SIZE
"""

import json
import sys

import requests
from google.resumable_media.requests import ResumableUpload


def main():
    base_url, bucket, name, path, chunk_size = sys.argv[1:6]
    url = f"{base_url}/upload/storage/v1/b/{bucket}/o?uploadType=resumable"
    upload = ResumableUpload(url, int(chunk_size), checksum="crc32c")
    transport = requests.Session()
    requests_sent = 0
    with open(path, "rb") as stream:
        upload.initiate(
            transport,
            stream,
            {"name": name},
            "application/octet-stream",
        )
        while not upload.finished:
            response = upload.transmit_next_chunk(transport)
            requests_sent += 1
    json.dump(
        {"object": response.json(), "chunks": requests_sent, "bytes": upload.bytes_uploaded},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
