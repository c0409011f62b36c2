"""Uploads a file to the emulator's tus endpoint with tuspy (tusclient), with
a SHA-1 Upload-Checksum on every PATCH; prints what happened as JSON.

Usage: tuspy_upload.py ENDPOINT FILE CHUNK_SIZE MODE

MODE "whole": one upload, to its end. MODE "resume": an uploader without
retries meets the emulator's scripted fault and gives up; a second uploader,
given only the first one's URL, asks the server for the offset (HEAD) and
finishes the upload from there.
"""

import json
import sys

from tusclient import client


def main():
    endpoint, path, chunk_size, mode = sys.argv[1:5]
    tus = client.TusClient(endpoint)
    first = tus.uploader(
        path,
        chunk_size=int(chunk_size),
        metadata={"filename": "tuspy.bin"},
        upload_checksum=True,
    )
    out = {"failed": None}
    if mode == "whole":
        first.upload()
    elif mode == "resume":
        try:
            first.upload()
            sys.exit("the scripted fault did not interrupt the upload")
        except Exception as error:  # the client's own error types vary by failure
            out["failed"] = f"{type(error).__name__}: {error}"
        again = tus.uploader(
            path, url=first.url, chunk_size=int(chunk_size), upload_checksum=True
        )
        out["resumed_from"] = again.offset
        again.upload()
    else:
        sys.exit(f"unknown mode {mode!r}")
    out["url"] = first.url
    print(json.dumps(out))


if __name__ == "__main__":
    main()
