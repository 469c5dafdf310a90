"""The dashboard's test traffic and page helpers, for the dashboard's browser tests: a week
of consented visitors with known user agents and countries (``plan``), sent with the
middleware's clock moved to each visit (``send_traffic``), and reading what the page shows."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from support import poll

TOKEN = "dashboard-token-0123456789abcdef"
# (user agent, device, browser, weight)
AGENTS = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "mobile",
        "Mobile Safari",
        5,
    ),
    (
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        "mobile",
        "Chrome Mobile",
        3,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/119.0.0.0 Safari/537.36",
        "desktop",
        "Chrome",
        6,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.1 Safari/605.1.15",
        "desktop",
        "Safari",
        3,
    ),
    (
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
        "desktop",
        "Firefox",
        2,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/16.6 Mobile/15E148 Safari/604.1",
        "tablet",
        "Mobile Safari",
        1,
    ),
]
COUNTRIES = [("DE", 6), ("FR", 4), ("NL", 3), ("US", 3), ("GB", 2), ("JP", 1)]
PER_DAY = [3, 4, 6, 5, 7, 8, 6]  # visitors 6 days ago ... today


@dataclass(frozen=True)
class Visit:
    agent: str
    device: str
    browser: str
    country: str
    at: float  # when, in seconds since the epoch
    pages: tuple[str, ...]


def plan(now: float) -> list[Visit]:
    rng = random.Random(2026)
    today = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    visits = []
    for index, count in enumerate(PER_DAY):
        day = today - timedelta(days=len(PER_DAY) - 1 - index)
        latest_hour = min(23, int((now - day.timestamp()) // 3600))
        for _ in range(count):
            agent, device, browser, _w = rng.choices(AGENTS, [a[3] for a in AGENTS])[0]
            country = rng.choices(COUNTRIES, [c[1] for c in COUNTRIES])[0][0]
            at = day.timestamp() + rng.randint(0, latest_hour) * 3600 + rng.randint(0, 59) * 60
            pages = ("/", "/strict") if rng.random() < 0.6 else ("/",)
            visits.append(Visit(agent, device, browser, country, min(at, now), pages))
    return visits


class MovableClock:
    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def set(self, when: float) -> None:
        self.offset = when - time.time()


def send_traffic(base_url: str, clock: MovableClock, visits: list[Visit]) -> None:
    with httpx.Client(base_url=base_url) as client:  # one connection; new cookies per visitor
        for number, visit in enumerate(visits):
            clock.set(visit.at)
            client.cookies.clear()
            # Each visitor's ID chosen, not drawn: visitors are estimates (HyperLogLog),
            # exact for these 39 only while no two share a register, which fixed IDs make
            # true every run (random ones collided about one run in fifty).
            client.cookies.set("consentkit_id", f"dashboard-visitor-{number:04d}")
            headers = {"User-Agent": visit.agent, "CF-IPCountry": visit.country}
            answer = client.post(
                "/consentkit/consent", json={"action": "accept_all"}, headers=headers
            )
            assert answer.is_success and "consentkit_id" not in answer.cookies  # ours is kept
            for page in visit.pages:
                assert client.get(page, headers=headers).is_success
    clock.offset = 0.0
    # Neither a refusing visitor nor a crawler is counted.
    with httpx.Client(base_url=base_url, headers={"User-Agent": AGENTS[0][0]}) as client:
        client.post("/consentkit/consent", json={"action": "reject_all"})
        client.get("/")
    httpx.get(
        base_url + "/",
        headers={
            "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        },
    )
    sent = sum(len(visit.pages) for visit in visits)

    def stored() -> bool:  # the middleware flushes every 0.2 s
        answer = httpx.post(
            base_url + "/consentkit/api/query",
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"metrics": ["pageviews"], "date_range": "7d"},
        )
        return answer.json()["results"][0]["metrics"] == [sent]

    poll(stored, what="the flush of the traffic")


def bars(page, dimension: str) -> dict[str, int]:
    rows = page.locator(f'.panel[data-dimension="{dimension}"] .bars li[data-value]')
    return {
        row.get_attribute("data-value"): int(row.locator(".num").inner_text().replace(",", ""))
        for row in rows.all()
    }


def wait_updated(page) -> None:
    page.wait_for_function(
        "() => !document.body.classList.contains('loading')"
        " && document.getElementById('status').textContent === 'Updated.'"
    )


def total(page, name: str) -> int:
    return int(page.locator(f"#total-{name}").inner_text().replace(",", ""))


def log_in(page, url: str) -> None:
    """Sign in to the dashboard through its form and wait for the first figures."""
    page.goto(url + "/consentkit/dashboard")
    page.get_by_label("Admin token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + "/consentkit/dashboard")
    wait_updated(page)
