#!/usr/bin/env python3
"""The Platform's training-job flow against the Labeler Dataset API, with httpx.

    LABELER_API_URL=http://localhost:4000 LABELER_SERVICE_KEY=lbl_sa_... \
        python3 platform_client.py ds_0123456789abcdef --user-id 1 --out /tmp/dataset.zip

Steps: get the dataset (and revalidate it with its ETag), check the user's permission, ask for a download
URL (202 while the archive is being built: wait Retry-After, ask again), download the archive and list it.
Each step prints one line; the last line is "ok". See docs/platform-integration.md.
"""

import argparse
import os
import sys
import time
import zipfile

import httpx

# Worth retrying (docs/platform-integration.md, "Retries"): the error envelope's code says so.
RETRYABLE_CODES = {
    "RATE_LIMIT_EXCEEDED",
    "SERVICE_UNAVAILABLE",
    "R2_UNAVAILABLE",
    "INTERNAL_ERROR",
    "STORAGE_UNAVAILABLE",
    "IDEMPOTENCY_REQUEST_IN_PROGRESS",
}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")


class LabelerError(Exception):
    """An answer in the error envelope {"error": {code, message, details, timestamp}}."""

    def __init__(self, status: int, code: str, message: str, details: dict):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.details = details


class LabelerClient:
    def __init__(self, base_url: str, service_key: str, max_attempts: int = 5, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {service_key}"}
        self.max_attempts = max_attempts
        self.timeout = timeout

    def _send(self, method: str, path: str, json=None, headers=None) -> httpx.Response:
        """One call with retries: connection errors and retryable codes, waiting Retry-After (or backing
        off exponentially), at most max_attempts times. Any other error is raised as LabelerError."""
        url = f"{self.base_url}/api/v1{path}"
        all_headers = {**self.headers, **(headers or {})}
        for attempt in range(1, self.max_attempts + 1):
            try:
                if method == "GET":
                    response = httpx.get(url, headers=all_headers, timeout=self.timeout)
                elif json is None:
                    # A POST without a body: the route takes none (or all its fields are optional).
                    response = httpx.post(url, headers=all_headers, timeout=self.timeout)
                else:
                    response = httpx.post(url, json=json, headers=all_headers, timeout=self.timeout)
            except httpx.TransportError as error:
                if attempt == self.max_attempts:
                    raise
                wait = min(2 ** (attempt - 1), 30)
                print(f"retry: {type(error).__name__}, waiting {wait}s", file=sys.stderr)
                time.sleep(wait)
                continue
            if response.status_code < 400:
                return response
            error = response.json().get("error", {})
            code = error.get("code", "UNKNOWN")
            if code in RETRYABLE_CODES and attempt < self.max_attempts:
                wait = int(response.headers.get("Retry-After", 2 ** (attempt - 1)))
                print(f"retry: {response.status_code} {code}, waiting {wait}s", file=sys.stderr)
                time.sleep(wait)
                continue
            raise LabelerError(response.status_code, code, error.get("message", ""), error.get("details") or {})
        raise AssertionError("unreachable")

    def get_dataset(self, dataset_id: str, etag: str | None = None) -> httpx.Response:
        return self._send("GET", f"/datasets/{dataset_id}", headers={"If-None-Match": etag} if etag else None)

    def check_permission(self, dataset_id: str, user_id: int) -> dict:
        return self._send("GET", f"/datasets/{dataset_id}/permissions/{user_id}").json()

    def download_url(self, dataset_id: str, user_id: int | None, purpose: str, max_wait: float) -> dict:
        """The archive's presigned URL; while it is being built (202), wait Retry-After and ask again."""
        body = {"user_id": user_id, "purpose": purpose} if user_id is not None else None
        deadline = time.monotonic() + max_wait
        while True:
            response = self._send("POST", f"/datasets/{dataset_id}/download-url", json=body)
            answer = response.json()
            if response.status_code == 200:
                return answer
            retry_after = int(response.headers.get("Retry-After", "2"))
            print(f"download-url: 202 {answer['status']} job={answer['job_id']} retry-after={retry_after}s")
            if time.monotonic() + retry_after > deadline:
                raise TimeoutError(f"archive of {dataset_id} not built within {max_wait}s")
            time.sleep(retry_after)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset_id")
    parser.add_argument("--user-id", type=int, help="the Platform user the training job runs for")
    parser.add_argument("--out", default="dataset.zip", help="where to save the archive")
    parser.add_argument("--max-wait", type=float, default=300, help="seconds to wait for the archive build")
    args = parser.parse_args()

    client = LabelerClient(os.environ["LABELER_API_URL"], os.environ["LABELER_SERVICE_KEY"])

    # 1. Metadata (cache it with its ETag; a 304 means the cached copy is still current).
    response = client.get_dataset(args.dataset_id)
    dataset = response.json()
    print(
        f"dataset {dataset['id']} name={dataset['name']} format={dataset['format']} "
        f"num_images={dataset['num_images']} version={dataset['version']} "
        f"rate-limit-remaining={response.headers.get('X-RateLimit-Remaining')}"
    )
    revalidated = client.get_dataset(args.dataset_id, etag=response.headers["ETag"])
    print(f"etag revalidation: {revalidated.status_code}")

    # 2. May this user train on it?
    if args.user_id is not None:
        permission = client.check_permission(args.dataset_id, args.user_id)
        print(
            f"permission user={permission['user_id']} has_access={permission['has_access']} "
            f"role={permission['role']} reason={permission['reason']}"
        )
        if not permission["has_access"]:
            print("stop: the user has no access to this dataset")
            return 2

    # 3. A download URL for the archive (202 → wait Retry-After → ask again).
    ready = client.download_url(args.dataset_id, args.user_id, "platform_client example", args.max_wait)
    print(f"download-url: ready version={ready['version']} size_bytes={ready['size_bytes']}")

    # 4. Download it straight from storage (a presigned URL: no Authorization header).
    with httpx.stream("GET", ready["download_url"], timeout=60) as download, open(args.out, "wb") as out:
        download.raise_for_status()
        for chunk in download.iter_bytes():
            out.write(chunk)
    size = os.path.getsize(args.out)
    if size != ready["size_bytes"]:
        raise RuntimeError(f"downloaded {size} bytes, expected {ready['size_bytes']}")
    with zipfile.ZipFile(args.out) as archive:
        names = archive.namelist()
        bad = archive.testzip()
    if bad is not None:
        raise RuntimeError(f"corrupt archive entry {bad}")
    images = [n for n in names if n.lower().endswith(IMAGE_SUFFIXES)]
    print(
        f"archive {size} bytes: {len(names)} entries, {len(images)} images, "
        f"annotations={ready['manifest']['annotations']}"
    )

    # 5. What a missing dataset looks like: 404 in the error envelope, not worth retrying.
    try:
        client.get_dataset("ds_0000000000000000")
    except LabelerError as error:
        print(f"missing dataset: {error.status} {error.code}")
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
