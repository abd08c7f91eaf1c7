"""Browser tests: the real app (``eltiketi serve --demo`` on a free loopback port, embedded
mode, its own data folder) driven by Debian's Chromium through Playwright.

One browser for the package's tests; each test gets fresh contexts (cookies, storage).
Every page a test visits can be checked with :func:`check_page`: axe-core finds no
serious or critical violation, the page does not scroll sideways on a 390 px phone,
and screenshots at 390×844 and 1280×800 go to ``build/screenshots/`` (test
artifacts, not committed; ``docs/img/`` holds a chosen few).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.infra.ports import free_port
from tests.infra.requirement import require

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
START_TIMEOUT = 60.0


@dataclass
class Shop:
    """A running server: its address, data folder and the demo event."""

    base_url: str
    data_dir: Path
    demo_event_id: str
    process: subprocess.Popen[str]
    log: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def token(
        self, sub: str, *roles: str, email: str | None = None, door_of: str | None = None
    ) -> str:
        """A dev token; ``door_of``: an event whose organization makes ``sub`` a door member."""
        body: dict[str, Any] = {"sub": sub, "roles": list(roles)}
        if email:
            body["email"] = email
        if door_of:
            event = httpx.get(self.url(f"/v1/events/{door_of}"), timeout=10).json()
            body["members"] = [{"organization_id": event["organization_id"], "role": "door"}]
        answer = httpx.post(self.url("/dev/token"), json=body, timeout=10)
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def api(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.request(method, self.url(path), headers=headers, timeout=10, **kwargs)

    def event_with_one_ticket(self, name: str) -> tuple[str, str]:
        """A published event whose only ticket type has one ticket: (event id, type id)."""
        olga = self.token("olga", "organizer")
        event = self.api(
            "POST",
            "/v1/events",
            olga,
            json={
                "name": name,
                "venue": "De Kleine Zaal, Utrecht",
                "starts_at": "2031-06-01T19:30:00+02:00",
                "timezone": "Europe/Amsterdam",
                "currency": "EUR",
            },
        ).json()
        ticket_type = self.api(
            "POST",
            f"/v1/events/{event['id']}/ticket-types",
            olga,
            json={"name": "Last seat", "price": {"amount": 2000, "currency": "EUR"}, "capacity": 1},
        ).json()
        assert self.api("POST", f"/v1/events/{event['id']}/publish", olga).status_code == 200
        return event["id"], ticket_type["id"]


def start_shop(folder: Path, **env: str) -> Shop:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ELTIKETI_")}
    environment.update(
        {
            "PYTHONUNBUFFERED": "1",
            "ELTIKETI_DATA_DIR": str(folder / "data"),
            "ELTIKETI_SWEEP_INTERVAL_SECONDS": "0.5",
            "ELTIKETI_LOG_LEVEL": "WARNING",
            **env,
        }
    )
    script = Path(sys.executable).with_name("eltiketi")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "eltiketi_app.cli"]
    log = folder / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "serve", "--demo", "--port", str(port)],
            cwd=folder,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"eltiketi serve exited:\n{log.read_text()}")
        text = log.read_text()
        if "demo event: " in text:
            try:
                if httpx.get(base_url + "/health/ready", timeout=2).status_code == 200:
                    event_id = text.split("demo event: ", 1)[1].split()[0]
                    return Shop(base_url, folder / "data", event_id, process, log)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"eltiketi serve was not ready in {START_TIMEOUT}s:\n{log.read_text()}")


def stop_shop(shop: Shop) -> None:
    if shop.process.poll() is None:
        shop.process.send_signal(signal.SIGINT)
        try:
            shop.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            shop.process.kill()
            shop.process.wait()


@pytest.fixture(scope="package")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    running = start_shop(tmp_path_factory.mktemp("shop"))
    try:
        yield running
    finally:
        stop_shop(running)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One browser for every browser test, closed when they are done: Playwright's sync API
    runs an event loop in this thread while it is open, so the suite's asyncio tests
    must not run meanwhile (they come after this package, never inside it)."""
    executable = shutil.which("chromium")
    if executable is None:
        require("chromium", "Debian's chromium is not installed (tools/system-packages.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the dev extra has it
        require("playwright", "the playwright package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def check_page(page: Any, name: str) -> None:
    """axe-core (no serious or critical violation), no sideways scroll at 390 px, screenshots."""
    from axe_playwright_python.sync_playwright import Axe

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size
    page.set_viewport_size(PHONE)
    page.wait_for_load_state("load")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: scrolls sideways by {overflow}px at 390px"
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    results = Axe().run(page)
    serious = [
        v for v in results.response["violations"] if v.get("impact") in {"serious", "critical"}
    ]
    assert not serious, f"{name}: axe-core found " + "; ".join(
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in serious
    )
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(viewport or PHONE)


def log_in(page: Any, name: str, email: str | None = None) -> None:
    """Fill the dev login form the page is on."""
    page.get_by_label("User name").fill(name)
    page.get_by_label("E-mail address").fill(email or f"{name}@example.org")
    page.get_by_role("button", name="Sign in").click()
